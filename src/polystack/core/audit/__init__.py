"""The audit log: who did what (create, update, delete, access denied) to which resource, for admins.

Entries are recorded where access is decided (the SQL store's guard and the resource registry), so every
store gets them without code of its own. They hold the principal, the virtual key, the action, the resource
type and id, the outcome and the request id: never a secret or message content.
"""
