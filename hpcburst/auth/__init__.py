"""Who is calling the cluster's API: external identities (Microsoft Entra ID) and how they are verified."""
