"""Typed configuration of the license filter for code."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

DETECTOR_VERSION = "irm-license-rules/2"

PERMISSIVE = ["MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "PSF-2.0", "Python-2.0", "Python-2.0.1", "Zlib",
              "Unlicense", "CC0-1.0", "0BSD", "BSL-1.0", "MIT-0", "X11", "NCSA", "UPL-1.0"]
COPYLEFT_PREFIXES = ("GPL-", "LGPL-", "AGPL-", "MPL-", "EPL-", "EUPL-", "CDDL-", "OSL-", "CECILL", "GFDL-",
                     "CC-BY-SA-", "CC-BY-NC", "SSPL-", "Artistic-", "CPL-", "MS-RL")


class LicenseConfig(BaseModel):
    allowlist: list[str] = Field(default_factory=lambda: list(PERMISSIVE),
                                 description="SPDX ids a code file's effective license must satisfy")
    header_lines: int = Field(40, ge=1, description="a file header is the first lines of a file; mentions below do not count")
    unlicensed_text: Literal["allow", "exclude"] = Field(
        "allow", description="non-code documents of a source in which no document carries any license evidence "
                             "(forum posts, web text); code without evidence is always excluded")
    source_policy: dict[str, Literal["allow", "exclude"]] = Field(
        default_factory=dict, description="per source: the decision for its documents that carry no license evidence")

    @field_validator("allowlist")
    @classmethod
    def _spdx_ids(cls, value: list[str]) -> list[str]:
        from license_expression import get_spdx_licensing

        unknown = get_spdx_licensing().validate(" OR ".join(value)).invalid_symbols if value else []
        if unknown:
            raise ValueError(f"licenses.allowlist has ids that are not SPDX: {unknown}; use SPDX identifiers such as MIT or Apache-2.0")
        return value
