"""Data files shipped with the app: icons, translations, the default canned-response library."""
