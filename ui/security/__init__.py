"""The shared workstation: signing in, the first administrator, the lock screen and
auto-lock, the staff screen and the audit screen."""
