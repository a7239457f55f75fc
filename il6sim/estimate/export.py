"""Write a PEtab problem that other tools (pyPESTO, AMICI, COPASI) read: the model as SBML.

A problem built on an il6sim TOML model (``il6sim_models`` in its YAML) is rewritten with the model
exported to SBML Level 3 (:func:`il6sim.sbml.to_sbml`, mass-action laws written out) and the
tables copied unchanged; a problem that is already SBML is copied as it is. The il6sim extension
(scenarios and regimens per condition) has no PEtab v1 equivalent (doses would be SBML events),
so such a problem is refused by name rather than exported without its doses.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..fileio import atomic_write
from .problem import load_problem
from .tables import PetabError, read_problem_yaml

__all__ = ["export_petab"]


def export_petab(problem_yaml: str | Path, out_dir: str | Path) -> Path:
    """Write ``problem_yaml`` as a plain PEtab v1 problem (SBML model) into ``out_dir``; return its YAML.

    >>> import tempfile
    >>> yaml = export_petab("../shared/petab-benchmark/Perelson_Science1996/Perelson_Science1996.yaml",
    ...                     tempfile.mkdtemp())
    >>> yaml.name
    'Perelson_Science1996.yaml'
    """
    from ..network import Network
    from ..sbml import to_sbml

    files = read_problem_yaml(problem_yaml)
    if files.extension:
        raise PetabError(f"{files.yaml}: the il6sim extension (scenarios, regimens) has no PEtab v1 equivalent; "
                         "export a problem without il6sim: conditions")
    problem = load_problem(problem_yaml)  # every check before anything is written
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise PetabError(f"{out}: is a file; give a directory")
    out.mkdir(parents=True, exist_ok=True)
    model = Path(files.model_files[0])
    sbml_name = model.with_suffix(".xml").name
    if model.suffix.lower() == ".toml" and isinstance(problem.network, Network):
        to_sbml(problem.network, out / sbml_name)
    else:
        shutil.copyfile(model, out / sbml_name)

    def copy(paths: tuple[str, ...]) -> list[str]:
        names = []
        for p in paths:
            shutil.copyfile(p, out / Path(p).name)
            names.append(Path(p).name)
        return names

    conds = copy(files.condition_files)
    meas = copy(files.measurement_files)
    obs = copy(files.observable_files)
    param = copy((files.parameter_file,))[0]

    def listing(names: list[str]) -> str:
        return "[" + ", ".join(names) + "]"

    text = (f"format_version: 1\nparameter_file: {param}\nproblems:\n- sbml_files: [{sbml_name}]\n"
            f"  condition_files: {listing(conds)}\n  measurement_files: {listing(meas)}\n"
            f"  observable_files: {listing(obs)}\n")
    target = out / Path(files.yaml).name
    atomic_write(target, text.encode())
    return target
