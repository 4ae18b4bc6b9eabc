"""The audit log API (/v1/audit): who did what to which resource, admins only."""
