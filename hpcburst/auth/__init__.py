"""Authentication: bearer secrets of our own, and external identities (Microsoft Entra ID)."""
