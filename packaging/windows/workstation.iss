; Inno Setup 6.3+ script: installs the PyInstaller one-folder bundle (dist\workstation\) on Windows.
; Not built by CI (no Windows machine). On Windows, from the repository root:
;
;   uv run pyinstaller --noconfirm --clean --distpath dist --workpath build\pyinstaller packaging\workstation.spec
;   for /f %v in ('uv run python -c "import workstation; print(workstation.__version__)"') do set WS_VERSION=%v
;   "%ProgramFiles(x86)%\Inno Setup 6\ISCC.exe" /DAppVersion=%WS_VERSION% packaging\windows\workstation.iss
;
; Result: dist\workstation-<version>-setup.exe. Installs to Program Files\Workstation (or, when the user
; picks "only for me", to %LOCALAPPDATA%\Programs\Workstation without admin rights), a Start menu entry,
; an optional desktop shortcut and an uninstaller (Settings > Apps). User data (%LOCALAPPDATA%\Workstation)
; is left in place on uninstall, like the Linux package leaves ~/.local/share/Workstation.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "Workstation"
#define AppExe "workstation.exe"

[Setup]
; AppId identifies the product for upgrades and the uninstaller: never change it.
AppId={{6F7B1C52-3E0A-4C55-9B8E-2D6A0F4E8C31}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Workstation contributors
AppComments=Desktop agent workstation for social customer care
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
; Relative paths are relative to this file (packaging\windows\).
OutputDir=..\..\dist
OutputBaseFilename=workstation-{#AppVersion}-setup
SetupIconFile=..\icons\workstation.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; Close a running Workstation (and its demo children) before files are replaced.
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"
Name: "spanish"; MessagesFile: "compiler:Languages\Spanish.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; An upgrade replaces the bundle as a whole: no stale modules from the previous version.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "..\..\dist\workstation\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"; Comment: "Desktop agent workstation for social customer care"
Name: "{group}\{#AppName} demo"; Filename: "{app}\{#AppExe}"; Parameters: "demo"; Comment: "The app with an embedded team server and the WhatsApp sandbox"
Name: "{group}\{cm:UninstallProgram,{#AppName}}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
