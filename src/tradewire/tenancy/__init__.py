"""Tenancy: partners own clients, clients own connections; every row belongs to one client."""
