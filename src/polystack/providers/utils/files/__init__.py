"""What the files providers share: config fields, the metadata table, the byte-store seam, the Files service."""
