"""A contract type for import-linter (see .importlinter): the areas reach each other only
through a service, plus the models its answers are made of.

Every module of every area is checked, new ones included: an import from one area into
another must land on that area's `service` or `models` module.
"""

from __future__ import annotations

import grimp
from importlinter import Contract, ContractCheck, fields, output


class AreasContract(Contract):
    type_name = "areas"

    areas = fields.ListField(subfield=fields.ModuleField())
    public = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        areas = [str(area.name) for area in self.areas]  # type: ignore[attr-defined]
        public = {str(name) for name in self.public}  # type: ignore[attr-defined]
        illegal = []
        for area in areas:
            for importer in sorted({area, *graph.find_descendants(area)}):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    other = next((a for a in areas if imported.startswith(f"{a}.")), None)
                    if other is None or other == area:
                        continue
                    if imported.removeprefix(f"{other}.") not in public:
                        lines = [
                            detail["line_number"]
                            for detail in graph.get_import_details(
                                importer=importer, imported=imported
                            )
                        ]
                        illegal.append((importer, imported, lines))
        return ContractCheck(kept=not illegal, metadata={"illegal": illegal})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for importer, imported, lines in check.metadata["illegal"]:
            where = ", ".join(map(str, lines))
            output.print_error(f"- {importer} -> {imported} (l.{where})", bold=False)
            output.new_line()
