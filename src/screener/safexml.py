"""XML from outside (exports, NCBI's answers), parsed with nothing fetched and no entities of its own.

An XML file can declare entities that expand to gigabytes (billion laughs), an external entity
that pulls a local file into the records, or a DTD or schema that a validating parser fetches
over the network. No export needs any of that: EndNote XML has no DOCTYPE, and NCBI's XML names
one of NCBI's own DTDs, which Biopython bundles. So:

- plain XML (EndNote) goes through defusedxml with DTDs forbidden, over the whole file;
- NCBI XML goes through Biopython's parser with a handler that reads only the DTDs and schemas
  bundled with Biopython (never the network, never the user's DTD cache), and refuses the rest.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from functools import lru_cache
from io import BytesIO
from typing import Any

import defusedxml
import defusedxml.ElementTree

from .cache import cache_root


class RefusedXML(ValueError):
    """The XML asks for something screener never does: a DTD, schema or entity from outside."""


def fromstring_no_dtd(text: str) -> ET.Element:
    """Parse XML that must declare no DOCTYPE and no entities (anywhere in the file).

    Raises RefusedXML for a DOCTYPE or an entity declaration, ET.ParseError for bad XML.
    """
    try:
        return defusedxml.ElementTree.fromstring(text, forbid_dtd=True)
    except defusedxml.DTDForbidden:
        raise RefusedXML("declares a DOCTYPE; this format never has one") from None
    except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden):
        raise RefusedXML("declares entities; this format never has any") from None


@lru_cache(maxsize=1)
def _bundled() -> tuple[str, frozenset[str], str, frozenset[str]]:
    from Bio import Entrez

    folder = os.path.dirname(Entrez.__file__)
    dtds, xsds = os.path.join(folder, "DTDs"), os.path.join(folder, "XSDs")
    listed = [frozenset(os.listdir(d)) if os.path.isdir(d) else frozenset() for d in (dtds, xsds)]
    return dtds, listed[0], xsds, listed[1]


def bundled_dtds() -> frozenset[str]:
    """File names of the DTDs (and their modules) that Biopython ships."""
    return _bundled()[1]


def _file_name(system_id: str) -> str:
    return system_id.replace("\\", "/").rsplit("/", 1)[-1]


@lru_cache(maxsize=1)
def _offline_handler_class() -> type:
    import sys

    if "Bio.Entrez.Parser" not in sys.modules:
        # Importing the parser makes Biopython's DTD download folders (~/.config/biopython);
        # screener never downloads one, and writes nothing outside the review but its cache.
        from Bio import Entrez

        Entrez.local_cache = str(cache_root() / "biopython")
    from Bio.Entrez.Parser import DataHandler

    class BundledOnly(DataHandler):
        """Biopython's handler, reading DTDs and schemas from its own bundle only: a name it
        does not bundle is refused, where Biopython would download it."""

        def open_dtd_file(self, filename: str) -> Any:
            folder, names, _, _ = _bundled()
            return open(os.path.join(folder, filename), "rb") if filename in names else None

        def open_xsd_file(self, filename: str) -> Any:
            _, _, folder, names = _bundled()
            return open(os.path.join(folder, filename), "rb") if filename in names else None

        def save_dtd_file(self, filename: str, text: bytes) -> None:  # never writes a cache
            return None

        def save_xsd_file(self, filename: str, text: bytes) -> None:
            return None

        def externalEntityRefHandler(self, context: Any, base: Any, systemId: str, publicId: Any) -> int:  # noqa: N802
            name = _file_name(systemId or "")
            if name not in _bundled()[1]:
                raise RefusedXML(
                    f"refers to {systemId!r}, which is not a DTD bundled with Biopython "
                    "(screener never fetches DTDs or entities from outside the file)"
                )
            return super().externalEntityRefHandler(context, base, name, publicId)

        def schemaHandler(self, name: str, attrs: dict) -> None:  # noqa: N802
            schema = attrs.get(f"{self.schema_namespace} noNamespaceSchemaLocation", "")
            if _file_name(schema) not in _bundled()[3]:
                raise RefusedXML(
                    f"refers to the schema {schema!r}, which is not bundled with Biopython "
                    "(screener never fetches schemas)"
                )
            super().schemaHandler(name, attrs)

    return BundledOnly


def entrez_read(data: bytes, validate: bool = True) -> Any:
    """Bio.Entrez.read, offline: DTDs and schemas come from Biopython's bundle or not at all.

    Raises RefusedXML for anything that would need the network, and Biopython's own errors
    (ExpatError, CorruptedXMLError, NotXMLError, ValueError, RuntimeError) for bad XML.
    """
    handler = _offline_handler_class()(validate, False, False)
    return handler.read(BytesIO(data))
