"""The desktop front end (PySide6 on a qasync loop); renders what `workstation` computes."""
