"""Sign-in: server address, email and password; the token then goes to the keyring."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout,
)


class LoginDialog(QDialog):
    sign_in_requested = Signal(str, str, str)  # server URL, email, password

    def __init__(self, server_url: str = "", email: str = "", parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Sign in to Workstation"))
        self.server_edit = QLineEdit(server_url or "http://127.0.0.1:8400", self)
        self.server_edit.setObjectName("serverEdit")
        self.email_edit = QLineEdit(email, self)
        self.email_edit.setObjectName("emailEdit")
        self.password_edit = QLineEdit(self)
        self.password_edit.setObjectName("passwordEdit")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.error_label = QLabel(self)
        self.error_label.setObjectName("loginError")
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #C62828;")
        self.error_label.hide()
        form = QFormLayout()
        form.addRow(self.tr("Server"), self.server_edit)
        form.addRow(self.tr("Email"), self.email_edit)
        form.addRow(self.tr("Password"), self.password_edit)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Sign in"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        self.buttons.accepted.connect(self.on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        (self.password_edit if email else self.email_edit).setFocus()

    def on_buttons_accepted(self) -> None:
        server, email, password = self.server_edit.text().strip(), self.email_edit.text().strip(), self.password_edit.text()
        if not server or not email or not password:
            self.show_error(self.tr("Fill in the server, your email and your password."))
            return
        self.set_busy(True)
        self.sign_in_requested.emit(server, email, password)

    def set_busy(self, busy: bool) -> None:
        self.buttons.setEnabled(not busy)
        if busy:
            self.error_label.hide()

    def show_error(self, text: str) -> None:
        self.set_busy(False)
        self.error_label.setText(text)
        self.error_label.show()
