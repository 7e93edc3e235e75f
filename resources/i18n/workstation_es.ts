<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="es" sourcelanguage="en">
<context>
    <name>CannedPanel</name>
    <message>
        <location filename="../../ui/canned_panel.py" line="+23"/>
        <source>Search canned responses</source>
        <translation>Buscar respuestas predefinidas</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Insert</source>
        <translation>Insertar</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>No canned response matches.</source>
        <translation>Ninguna respuesta predefinida coincide.</translation>
    </message>
</context>
<context>
    <name>CommandPalette</name>
    <message>
        <location filename="../../ui/command_palette.py" line="+17"/>
        <source>Command palette</source>
        <translation>Paleta de comandos</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Type a command…</source>
        <translation>Escribe un comando…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Command</source>
        <translation>Comando</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Commands</source>
        <translation>Comandos</translation>
    </message>
</context>
<context>
    <name>Composer</name>
    <message>
        <location filename="../../ui/composer.py" line="+85"/>
        <source>Write a reply… (Enter sends, Shift+Enter adds a line)</source>
        <translation>Escribe una respuesta… (Intro envía, Mayús+Intro añade una línea)</translation>
    </message>
    <message>
        <location line="-33"/>
        <location line="+35"/>
        <source>Send</source>
        <translation>Enviar</translation>
    </message>
    <message>
        <location line="-45"/>
        <source>Reply</source>
        <translation>Responder</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Internal note</source>
        <translation>Nota interna</translation>
    </message>
    <message>
        <location line="+30"/>
        <source>%1 / %2</source>
        <translation>%1 / %2</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Write an internal note: only your team sees it (Enter saves)</source>
        <translation>Escribe una nota interna: solo la ve tu equipo (Intro guarda)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Add note</source>
        <translation>Añadir nota</translation>
    </message>
</context>
<context>
    <name>CustomerPane</name>
    <message>
        <location filename="../../ui/customer_pane.py" line="+33"/>
        <source>Conversations</source>
        <translation>Conversaciones</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>No conversation selected</source>
        <translation>Ninguna conversación seleccionada</translation>
    </message>
    <message>
        <location line="+14"/>
        <source> (this one)</source>
        <translation> (la actual)</translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <location filename="../../ui/login_dialog.py" line="+16"/>
        <source>Sign in to Workstation</source>
        <translation>Iniciar sesión en Workstation</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Server</source>
        <translation>Servidor</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Email</source>
        <translation>Correo electrónico</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Password</source>
        <translation>Contraseña</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Sign in</source>
        <translation>Iniciar sesión</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>Cancelar</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Fill in the server, your email and your password.</source>
        <translation>Rellena el servidor, tu correo electrónico y tu contraseña.</translation>
    </message>
    <message>
        <location filename="../../ui/app.py" line="+229"/>
        <source>Your session has expired. Sign in again.</source>
        <translation>Tu sesión ha caducado. Vuelve a iniciar sesión.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Too many sign-in attempts. Try again in a minute.</source>
        <translation>Demasiados intentos de inicio de sesión. Vuelve a intentarlo dentro de un minuto.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Too many sign-in attempts. Try again in %1 minutes.</source>
        <translation>Demasiados intentos de inicio de sesión. Vuelve a intentarlo dentro de %1 minutos.</translation>
    </message>
    <message>
        <location line="+44"/>
        <source>Wrong email or password.</source>
        <translation>Correo o contraseña incorrectos.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cannot reach the server at %1.</source>
        <translation>No se puede conectar con el servidor en %1.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The server refused the sign-in (%1).</source>
        <translation>El servidor ha rechazado el inicio de sesión (%1).</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../ui/main_window.py" line="+62"/>
        <source>Workstation — %1</source>
        <translation>Workstation — %1</translation>
    </message>
    <message>
        <location line="+13"/>
        <location line="+497"/>
        <source>Conversations</source>
        <translation>Conversaciones</translation>
    </message>
    <message>
        <location line="-490"/>
        <source>Search messages, customers, numbers…</source>
        <translation>Buscar mensajes, clientes, números…</translation>
    </message>
    <message>
        <location line="+53"/>
        <source>Select a conversation in the feed.</source>
        <translation>Selecciona una conversación de la lista.</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Customer</source>
        <translation>Cliente</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+427"/>
        <source>Canned responses</source>
        <translation>Respuestas predefinidas</translation>
    </message>
    <message>
        <location line="-408"/>
        <source>Syncing… %p%</source>
        <translation>Sincronizando… %p%</translation>
    </message>
    <message>
        <location line="+151"/>
        <source>%1 not sent</source>
        <translation>%1 sin enviar</translation>
    </message>
    <message>
        <location line="-76"/>
        <source>● Online</source>
        <translation>● En línea</translation>
    </message>
    <message>
        <location line="-160"/>
        <source>All conversations</source>
        <translation>Todas las conversaciones</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Assigned to me</source>
        <translation>Asignadas a mí</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Unread</source>
        <translation>Sin leer</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Resolved</source>
        <translation>Resueltas</translation>
    </message>
    <message>
        <location line="+159"/>
        <source>● Connecting…</source>
        <translation>● Conectando…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>● Offline — reconnecting</source>
        <translation>● Sin conexión — reconectando</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>%1 queued</source>
        <translation>%1 en cola</translation>
    </message>
    <message>
        <location line="+316"/>
        <source>Search</source>
        <translation>Buscar</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Feed view</source>
        <translation>Vista de la lista</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Messages</source>
        <translation>Mensajes</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reply text</source>
        <translation>Texto de la respuesta</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Reply or internal note</source>
        <translation>Respuesta o nota interna</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Assignment</source>
        <translation>Asignación</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Status</source>
        <translation>Estado</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Customer&apos;s conversations</source>
        <translation>Conversaciones del cliente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Search canned responses</source>
        <translation>Buscar respuestas predefinidas</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+1"/>
        <source>Customer and canned responses</source>
        <translation>Cliente y respuestas predefinidas</translation>
    </message>
    <message>
        <location line="-495"/>
        <location line="+334"/>
        <source>Unassigned</source>
        <translation>Sin asignar</translation>
    </message>
    <message>
        <location line="-172"/>
        <source>● Session expired — sign in again</source>
        <translation>● Sesión caducada — vuelve a iniciar sesión</translation>
    </message>
    <message>
        <location line="+174"/>
        <source>Assigned to you</source>
        <translation>Asignada a ti</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Assigned to %1</source>
        <translation>Asignada a %1</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Unassign</source>
        <translation>Desasignar</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Assign to me</source>
        <translation>Asignármela</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Reopen</source>
        <translation>Reabrir</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Resolve</source>
        <translation>Resolver</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>Retry</source>
        <translation>Reintentar</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Discard</source>
        <translation>Descartar</translation>
    </message>
    <message>
        <location filename="../../ui/app.py" line="-86"/>
        <source>Demo: messages arrive from the WhatsApp sandbox every few seconds.</source>
        <translation>Demo: cada pocos segundos llegan mensajes del simulador de WhatsApp.</translation>
    </message>
    <message>
        <location line="+136"/>
        <source>No system keyring</source>
        <translation>No hay llavero del sistema</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>No working system keyring was found (%1). Your session is kept only until you close Workstation; you will sign in again next time.</source>
        <translation>No se ha encontrado un llavero del sistema que funcione (%1). Tu sesión se guarda solo hasta que cierres Workstation; la próxima vez tendrás que volver a iniciar sesión.</translation>
    </message>
</context>
<context>
    <name>Notifier</name>
    <message>
        <location filename="../../ui/notifier.py" line="+39"/>
        <source>Show Workstation</source>
        <translation>Mostrar Workstation</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Workstation — %1 waiting</source>
        <translation>Workstation — %1 en espera</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Assigned to you</source>
        <translation>Asignada a ti</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>New message from %1</source>
        <translation>Nuevo mensaje de %1</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>%1 mentioned you</source>
        <translation>%1 te ha mencionado</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>A teammate</source>
        <translation>Alguien del equipo</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../../ui/settings_dialog.py" line="+19"/>
        <source>Settings</source>
        <translation>Ajustes</translation>
    </message>
    <message>
        <location line="+6"/>
        <location line="+4"/>
        <source>Follow the system</source>
        <translation>Según el sistema</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Light</source>
        <translation>Claro</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Dark</source>
        <translation>Oscuro</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Language</source>
        <translation>Idioma</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Theme</source>
        <translation>Tema</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Team server</source>
        <translation>Servidor del equipo</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Show desktop notifications for new assignments and mentions</source>
        <translation>Mostrar notificaciones de escritorio para nuevas asignaciones y menciones</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Play a sound</source>
        <translation>Reproducir un sonido</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Do not disturb</source>
        <translation>No molestar</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>General</source>
        <translation>General</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Notifications</source>
        <translation>Notificaciones</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Shortcuts</source>
        <translation>Atajos</translation>
    </message>
</context>
<context>
    <name>ShortcutSheet</name>
    <message>
        <location filename="../../ui/shortcut_sheet.py" line="+13"/>
        <location line="+4"/>
        <source>Keyboard shortcuts</source>
        <translation>Atajos de teclado</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Action</source>
        <translation>Acción</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Keys</source>
        <translation>Teclas</translation>
    </message>
</context>
<context>
    <name>ThreadModel</name>
    <message>
        <location filename="../../ui/thread_model.py" line="+21"/>
        <source>The 24-hour reply window is closed: send an approved template.</source>
        <translation>La ventana de respuesta de 24 horas está cerrada: envía una plantilla aprobada.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The channel&apos;s access token has expired: ask an admin to reconnect it.</source>
        <translation>El token de acceso del canal ha caducado: pide a un administrador que lo vuelva a conectar.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The customer cannot receive this message.</source>
        <translation>El cliente no puede recibir este mensaje.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The channel is busy or unreachable; sending was given up after several tries.</source>
        <translation>El canal está saturado o no responde; se ha cancelado el envío tras varios intentos.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The channel refused this message.</source>
        <translation>El canal ha rechazado este mensaje.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>This channel is not set up for sending.</source>
        <translation>Este canal no está configurado para enviar mensajes.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Not delivered.</source>
        <translation>No entregado.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Not sent: %1</source>
        <translation>No enviado: %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>right-click to retry or discard</source>
        <translation>clic derecho para reintentar o descartar</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Queued — sending when online</source>
        <translation>En cola — se enviará al recuperar la conexión</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Status → %1</source>
        <translation>Estado → %1</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Unassigned</source>
        <translation>Sin asignar</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Assigned to %1</source>
        <translation>Asignada a %1</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Internal note</source>
        <translation>Nota interna</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+5"/>
        <source>Sending…</source>
        <translation>Enviando…</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+1"/>
        <source>✓ Sent</source>
        <translation>✓ Enviado</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>✓✓ Delivered</source>
        <translation>✓✓ Entregado</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>✓✓ Read</source>
        <translation>✓✓ Leído</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Failed</source>
        <translation>Fallido</translation>
    </message>
</context>
<context>
    <name>actions</name>
    <message>
        <location filename="../../ui/actions.py" line="+15"/>
        <source>Next conversation</source>
        <translation>Conversación siguiente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Previous conversation</source>
        <translation>Conversación anterior</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reply</source>
        <translation>Responder</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Write an internal note</source>
        <translation>Escribir una nota interna</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Canned responses</source>
        <translation>Respuestas predefinidas</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Resolve and go to the next</source>
        <translation>Resolver y pasar a la siguiente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Assign to me</source>
        <translation>Asignármela</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Snooze</source>
        <translation>Posponer</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Search</source>
        <translation>Buscar</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Command palette</source>
        <translation>Paleta de comandos</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Keyboard shortcuts</source>
        <translation>Atajos de teclado</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Settings</source>
        <translation>Ajustes</translation>
    </message>
</context>
<context>
    <name>channel</name>
    <message>
        <location filename="../../ui/style.py" line="+29"/>
        <source>WhatsApp</source>
        <translation>WhatsApp</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Messenger</source>
        <translation>Messenger</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Instagram</source>
        <translation>Instagram</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>X</source>
        <translation>X</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Telegram</source>
        <translation>Telegram</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Email</source>
        <translation>Correo electrónico</translation>
    </message>
</context>
<context>
    <name>crash</name>
    <message>
        <location filename="../../ui/crash.py" line="+44"/>
        <source>Something went wrong</source>
        <translation>Algo ha fallado</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Workstation hit an unexpected error and carried on. Details were saved to %1.</source>
        <translation>Workstation ha encontrado un error inesperado y ha seguido funcionando. Los detalles se han guardado en %1.</translation>
    </message>
</context>
<context>
    <name>status</name>
    <message>
        <location filename="../../ui/style.py" line="+7"/>
        <source>Open</source>
        <translation>Abierta</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Pending</source>
        <translation>Pendiente</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Snoozed</source>
        <translation>Pospuesta</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Resolved</source>
        <translation>Resuelta</translation>
    </message>
</context>
</TS>
