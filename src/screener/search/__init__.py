"""Searching bibliographic databases directly (PubMed through NCBI Entrez)."""

from .entrez import EntrezClient, EntrezSettings, load_settings
from .pubmed import PubmedSearch, PubmedSearchResult

__all__ = ["EntrezClient", "EntrezSettings", "load_settings", "PubmedSearch", "PubmedSearchResult"]
