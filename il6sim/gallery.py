"""The figure gallery: every figure with the data it plots and its provenance, recomputed only when needed.

``il6sim figures --out DIR`` (or :func:`run_gallery`) writes, for each registered figure ``NAME``:

* ``NAME.csv``: the data table the figure is drawn from (fixed float formatting, so identical
  inputs give byte-identical files);
* ``NAME.png`` (and ``.svg``/``.pdf`` on request);
* ``NAME.json``: il6sim version, the figure's code version, the model and its content hash
  (:attr:`Network.content_hash`, structure and parameter values), the SHA-256 of every input file
  (model, drug and scenario files), the options, the command, and ``input_key``.

``input_key`` hashes everything that changes the figure's numbers or pixels: the figure name and
code version, the source of its analysis and figure modules (and of the shared helpers, labels,
style and :mod:`il6sim.readouts`), il6sim's version,
the network hash, the input files, the options and the dpi. A figure whose key is unchanged and
whose files are all present is up to date and is not recomputed; ``force=True`` recomputes it.
Each file is written atomically (temporary file and rename), the JSON last: a run that stops
midway leaves complete files, and the figure whose JSON was not written is redone next time.

Each figure is computed from results (simulations and steady states) into a table first, by its
analysis (``il6sim.analysis.<module>.compute_*``), then drawn from the table alone
(``il6sim.figures.<module>.plot_*``), so a figure never re-solves anything. This module is the
one place that calls both layers.

>>> list(REGISTRY)[:3]
['schematic', 'signalling_modes', 'trapping_blockade']
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import Il6simError, UnknownNameError, suggest
from .fileio import atomic_write
from .network import Network
from .shipped import models_dir, resolve, shipped_names

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["FORMATS", "REGISTRY", "FigureSpec", "GalleryReport", "gallery_markdown", "parse_formats",
           "prepare_out_dir", "run_gallery", "select"]

FORMATS = ("png", "svg", "pdf")
FLOAT_FORMAT = "%.10g"
_FIG_DIR = Path(__file__).resolve().parent / "figures"
_ANALYSIS_DIR = Path(__file__).resolve().parent / "analysis"


@dataclass(frozen=True)
class FigureSpec:
    """A registered figure: how to compute its table, how to draw it, and what it depends on.

    ``il6sim.analysis.<module>.<compute>(network, **options)`` returns the table;
    ``il6sim.figures.<module>.<draw>(table, **extra)`` draws it, where ``extra`` maps each keyword of
    ``extras`` to ``il6sim.analysis.<module>.<function>(table)`` (tables derived from the main one,
    such as the steepness of dose-response curves). ``drugs`` and ``scenarios`` name the input files
    (``"*"``: all shipped drugs; ``"binders"``: all but production drugs).
    """

    name: str
    letter: str
    module: str
    compute: str
    draw: str
    title: str
    description: str
    code_version: int = 1
    drugs: tuple[str, ...] | str = ()
    scenarios: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    estimate_s: float = 2.0
    requires: str | None = None  # a module that must import (figure absent otherwise)
    extras: tuple[tuple[str, str], ...] = ()
    inputs: tuple[str, ...] = ()  # more input files: glob patterns relative to the models folder

    def builder(self) -> Callable[..., tuple[pd.DataFrame, Any]]:
        """``build(network, **options) -> (table, figure)``: the analysis, then the drawing."""
        import importlib

        analysis = importlib.import_module(f"il6sim.analysis.{self.module}")
        drawing = importlib.import_module(f"il6sim.figures.{self.module}")
        compute = getattr(analysis, self.compute)
        draw = getattr(drawing, self.draw)

        def build(network: Network, **options: Any) -> tuple[pd.DataFrame, Any]:
            table = compute(network, **options)
            extra = {key: getattr(analysis, fn)(table) for key, fn in self.extras}
            return table, draw(table, **extra)

        return build

    def available(self) -> tuple[bool, str]:
        """Whether the figure can be built here (its required modules import), and why not."""
        import importlib

        for mod in (self.requires, f"il6sim.analysis.{self.module}", f"il6sim.figures.{self.module}"):
            if mod is None:
                continue
            try:
                importlib.import_module(mod)
            except Exception as exc:  # missing or broken: the figure stays registered but absent
                return False, f"{mod} is not available ({type(exc).__name__}: {exc})"
        return True, ""


_CALIBRATION_INPUTS = ("calibration/*/*.tsv", "calibration/*/*.yaml")

_SPECS = (
    FigureSpec("schematic", "a", "schematic", "compute_schematic", "plot_schematic",
               "Signalling modes and drug binding sites",
               "The three IL-6 signalling modes (classic, trans-signalling, trans-presentation) and, for each "
               "drug, the site it binds (IL-6, IL-6R, IL-6·sIL-6R) and the modes it blocks, derived from the "
               "binding reactions the drug files add to the model.", drugs="*", estimate_s=1.5),
    FigureSpec("signalling_modes", "b", "modes", "compute_modes", "plot_modes", "Signalling vs IL-6",
               "Steady-state classic, trans- and trans-presentation signals against serum free IL-6 held at "
               "0.1-100,000 pg/ml, with physiological sIL-6R and sgp130, without sgp130, and without either "
               "(no sIL-6R: no trans-signalling at any IL-6).", estimate_s=3.0),
    FigureSpec("trapping_blockade", "c", "trapping", "compute_trapping", "plot_trapping",
               "Trapping vs blockade",
               "Severe COVID-19, each binder at its standard dose at admission (day 15.8 after infection, 7 d "
               "after symptom onset): free and total IL-6, total sIL-6R, CRP and each mode's signal. Cytokine binders trap IL-6 (total IL-6 rises "
               "hundreds-fold); receptor binders raise total sIL-6R and free IL-6.",
               drugs="binders", scenarios=("covid_severe",), estimate_s=8.0),
    FigureSpec("trans_map", "d", "transmap", "compute_trans_map", "plot_trans_map", "Trans-signalling map",
               "Steady-state trans-signal over total sIL-6R (4-400 ng/ml) and total sgp130 (39-3,900 ng/ml) with "
               "serum free IL-6 held at 50 pg/ml: trans-signalling follows sIL-6R; natural sgp130 (assumed Kd "
               "1 nM) changes it little in this model.", estimate_s=3.0),
    FigureSpec("genotype", "e", "genotype", "compute_genotypes", "plot_genotypes", "rs2228145 genotypes",
               "IL6R Asp358Ala (rs2228145) AA/AC/CC: baseline (t = 0) and the course of severe COVID-19 "
               "untreated; the C allele raises sIL-6R and trans-signalling and lowers classic signalling and CRP.",
               scenarios=("covid_severe",), estimate_s=1.5),
    FigureSpec("timing", "f", "timing", "compute_timing", "plot_timing",
               "Early vs late, with and without dexamethasone",
               "Severe COVID-19: tocilizumab at admission (day 15.8) or 4 days later, each with or without "
               "dexamethasone 6 mg daily for 10 days; legends give the change in AUC from admission to the end "
               "(inhibition[15.8d:end]).",
               drugs=("tocilizumab", "dexamethasone"), scenarios=("covid_severe",), estimate_s=2.0),
    FigureSpec("disease_settings", "g", "settings", "compute_settings", "plot_settings",
               "Disease settings",
               "Moderate and severe COVID-19, ARDS, sepsis and CRS: untreated peak free IL-6, and the inhibition "
               "of each mode's signal (AUC from dosing to the end, inhibition[dose:end]) that each binder's standard "
               "dose achieves.",
               drugs="binders", scenarios=("covid_moderate", "covid_severe", "ards", "sepsis", "crs"),
               estimate_s=8.0),
    FigureSpec("dose_response", "h", "doseresponse", "compute_dose_response", "plot_dose_response",
               "Dose-response",
               "Severe COVID-19, one dose at admission, inhibition of each level 3 days later (day 18.8) against "
               "dose: graded for the cytokine binders (siltuximab, clazakizumab), switch-like for the tight "
               "receptor binder sarilumab; the legend gives each curve's 10-90 % span in decades and Hill "
               "coefficient.",
               drugs=("siltuximab", "clazakizumab", "tocilizumab", "sarilumab"), scenarios=("covid_severe",),
               estimate_s=4.0, extras=(("steepness", "steepness"),)),
    FigureSpec("sensitivity", "i", "gsa", "compute_sensitivity", "plot_sensitivity",
               "Global sensitivity of drug benefit",
               "Sobol' indices (first order and total, 95 % bootstrap intervals) of the benefit of tocilizumab "
               "8 mg/kg at admission in severe COVID-19 (percent inhibition of CRP and of trans-signalling, AUC "
               "from the dose to the end: inhibition[dose:end]) over log-normal patient parameters: IL-6 "
               "production per unit inflammation, sIL-6R and sgp130 production, hepatocyte IL-6R synthesis, CRP "
               "clearance (il6sim.sensitivity, N = 32).",
               drugs=("tocilizumab",), scenarios=("covid_severe",), estimate_s=20.0,
               requires="il6sim.sensitivity"),
    *(FigureSpec(f"calibration_{key}", letter, "calibration", "compute_calibration", "plot_calibration",
                 f"Calibration: {title}",
                 f"{text} Points: data (models/calibration/{data_set}); line and band: the calibrated model (best "
                 "fit of models/calibration/joint and the range over the calibration's parameter sets, "
                 "docs/validation.md).",
                 drugs=drugs, scenarios=("healthy", "ra"), options={"data_set": data_set},
                 inputs=_CALIBRATION_INPUTS, estimate_s=12.0)
      for key, letter, data_set, title, text, drugs in (
          ("charoin2010", "j", "charoin2010_tcz_ra", "tocilizumab 10 mg/kg in RA",
           "Serum tocilizumab, total sIL-6R, total IL-6 and CRP after one 10 mg/kg infusion (digitised "
           "Charoin/Levi 2010 time courses, WP18663).", ("tocilizumab",)),
          ("frey2010", "k", "frey2010_tcz_pseudo", "tocilizumab 2-10 mg/kg",
           "Serum tocilizumab after single 2, 4, 8 and 10 mg/kg infusions: pseudo-data, typical profiles of "
           "the Frey 2010 population-PK model (linear plus Michaelis-Menten).", ("tocilizumab",)),
          ("xu2019", "l", "xu2019_sarilumab_pseudo", "sarilumab 100-200 mg SC",
           "Serum sarilumab after single 100, 150 and 200 mg SC doses: pseudo-data, typical profiles of the Xu "
           "2019 population-PK model.", ("sarilumab",)),
          ("baselines", "m", "baselines", "healthy and RA levels",
           "Serum IL-6, sIL-6R and CRP at the healthy and RA steady states against published medians.",
           ("tocilizumab", "sarilumab")),
          ("nikanjam2019", "q", "nikanjam2019_siltuximab_pseudo", "siltuximab 11 mg/kg every 3 weeks",
           "Serum siltuximab over four 1-h infusions of 11 mg/kg every 3 weeks: pseudo-data, the typical profile "
           "of the Nikanjam 2019 population-PK model (linear), whose constants the drug file uses; a check of "
           "the drug module, which no fitted parameter moves.", ("siltuximab",)))),
    FigureSpec("validation", "n", "calibration", "compute_validation", "plot_validation",
               "Validation on data never fitted",
               "Every predictable row of the frozen validation set (models/validation): exposures at label "
               "regimens, accumulation and dose ratios, sIL-6R plateaus and CRP under treatment, predicted by the "
               "calibrated model (bar: calibration band) against the published value (bar: published spread); "
               "docs/validation.md has the table.",
               drugs=("tocilizumab", "sarilumab"), scenarios=("ra",), inputs=(*_CALIBRATION_INPUTS,
                                                                             "validation/observations.tsv"),
               estimate_s=60.0),
    FigureSpec("chronic_infection", "o", "chronic", "compute_chronic_infection", "plot_chronic_infection",
               "Chronic therapy, then infection",
               "Rheumatoid arthritis at steady state on tocilizumab 8 mg/kg IV every 4 weeks or sarilumab 200 mg SC "
               "every 2 weeks for at least 16 weeks, then severe COVID-19 driven by the disease layer (scenario "
               "ra+covid_severe@DAY): infected 2 days after a dose or 1 day before the next; legends give "
               "each run's change in AUC from the infection to the end, its viral clearance delay and its damage "
               "AUC against the same patient untreated.",
               drugs=("tocilizumab", "sarilumab"), scenarios=("ra", "covid_severe"), estimate_s=3.0),
    FigureSpec("benefit_harm", "p", "benefit", "compute_benefit_harm", "plot_benefit_harm",
               "Benefit against harm by treatment day",
               "Severe COVID-19 driven by the disease layer (scenario covid_severe): lung damage avoided "
               "(AUC of tissue_damage, benefit) against viral clearance delayed (last time above 100 copies/ml, "
               "harm) for an IL-6 binder, an IL-6R blocker and a trans-signalling blocker given 2 days before to "
               "10 days after symptom onset, alone and with dexamethasone, against the same patient untreated. "
               "The harm rests on the assumed IL-6 help to effector T cells (k_eff_il6_help).",
               drugs=("siltuximab", "tocilizumab", "olamkicept", "dexamethasone"), scenarios=("covid_severe",),
               estimate_s=4.0),
)
REGISTRY: dict[str, FigureSpec] = {s.name: s for s in _SPECS}


@dataclass
class GalleryReport:
    """What a gallery run did: figures recomputed, up to date, absent (with reasons), files written."""

    recomputed: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    absent: dict[str, str] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: ``recomputed: N, up to date: M`` (and absent figures with reasons)."""
        text = f"recomputed: {len(self.recomputed)}, up to date: {len(self.up_to_date)}"
        if self.absent:
            text += "; absent: " + "; ".join(f"{k} ({v})" for k, v in self.absent.items())
        return text


# --------------------------------------------------------------------------------------------
def select(only: Sequence[str] | None) -> list[FigureSpec]:
    """The registered figures named in ``only`` (names or letters a-p), in gallery order; all by default.

    >>> [s.name for s in select(["c", "schematic"])]
    ['schematic', 'trapping_blockade']
    >>> for name in ("trapping", "modes"):
    ...     try:
    ...         select([name])
    ...     except UnknownNameError as exc:
    ...         print(str(exc).split(" (figures:")[0])
    --only: unknown figure 'trapping'; did you mean 'trapping_blockade'?
    --only: unknown figure 'modes'; did you mean 'signalling_modes'?
    """
    if not only:
        return list(_SPECS)
    by_letter = {s.letter: s.name for s in _SPECS}
    by_module = {s.module: s.name for s in _SPECS if s.module != s.name}  # "modes" -> signalling_modes
    wanted = set()
    for raw in only:
        for name in (n.strip() for n in str(raw).split(",")):
            if not name:
                continue
            name = by_letter.get(name, name)
            if name not in REGISTRY:
                hint = suggest(name, REGISTRY) or (f"; did you mean '{by_module[name]}'?" if name in by_module else "")
                raise UnknownNameError(f"--only: unknown figure '{name}'{hint} (figures: {', '.join(REGISTRY)})")
            wanted.add(name)
    return [s for s in _SPECS if s.name in wanted]


def parse_formats(text: str | Sequence[str]) -> tuple[str, ...]:
    """Image formats from ``"png,svg"`` (or a list); unknown ones are an error naming the valid ones.

    >>> parse_formats("png, pdf")
    ('png', 'pdf')
    >>> parse_formats("jpg")
    Traceback (most recent call last):
    ...
    il6sim.errors.Il6simError: --format: unknown format 'jpg'; did you mean 'png'? (valid: png, svg, pdf)
    """
    items = [t.strip().lower() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    if not items:
        raise Il6simError(f"--format: give at least one of {', '.join(FORMATS)}")
    for f in items:
        if f not in FORMATS:
            raise Il6simError(f"--format: unknown format '{f}'{suggest(f, FORMATS)} (valid: {', '.join(FORMATS)})")
    return tuple(dict.fromkeys(items))


def prepare_out_dir(out: str | Path) -> Path:
    """Create the output directory if needed and check it is writable (one-line error otherwise)."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise Il6simError(f"--out {out}: exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Il6simError(f"--out {out}: cannot create the directory ({exc.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise Il6simError(f"--out {out}: directory is not writable")
    return path


# --------------------------------------------------------------------------------------------
def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _input_files(spec: FigureSpec, network: Network) -> dict[str, str]:
    """Relative path → SHA-256 of every file the figure reads (model, drugs, scenarios)."""
    from .drugs import load_drug

    files: list[Path] = []
    if network.source_file:
        files.append(Path(network.source_file))
    if spec.drugs == "*":
        drugs: list[str] = shipped_names("drugs")
    elif spec.drugs == "binders":
        drugs = [n for n in shipped_names("drugs") if load_drug(n).target_class != "production"]
    else:
        drugs = list(spec.drugs)
    files += [resolve(d, "drugs") for d in drugs]
    files += [resolve(s, "scenarios") for s in spec.scenarios]
    base = models_dir()
    for pattern in spec.inputs:
        files += sorted(p for p in base.glob(pattern) if p.is_file())
    out = {}
    for f in files:
        try:
            key = str(f.resolve().relative_to(base.resolve()))
        except ValueError:
            key = str(f)
        out[key] = _sha(f.read_bytes())
    return out


def _code_hash(spec: FigureSpec) -> str:
    parts = [_ANALYSIS_DIR / f"{spec.module}.py", _ANALYSIS_DIR / "runs.py", _FIG_DIR / f"{spec.module}.py",
             _FIG_DIR / "labels.py", _FIG_DIR / "style.py", _FIG_DIR.parent / "readouts.py", Path(__file__)]
    return _sha(b"".join(p.read_bytes() for p in parts if p.is_file()))[:16]


def _input_key(spec: FigureSpec, network: Network, inputs: Mapping[str, str], dpi: int) -> str:
    payload = {"figure": spec.name, "code_version": spec.code_version, "code": _code_hash(spec),
               "il6sim": __version__, "network": network.content_hash, "inputs": dict(inputs),
               "options": dict(spec.options), "dpi": dpi}
    return _sha(json.dumps(payload, sort_keys=True).encode())[:24]


def _table_bytes(table: pd.DataFrame) -> bytes:
    return table.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n").encode()


def _image_bytes(fig: Any, fmt: str, dpi: int) -> bytes:
    buf = io.BytesIO()
    metadata: dict[str, Any] = {"png": {"Software": None}, "svg": {"Date": None},
                                "pdf": {"CreationDate": None, "ModDate": None}}[fmt]
    fig.savefig(buf, format=fmt, dpi=dpi, metadata=metadata)
    return buf.getvalue()


def _close(fig: Any) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)


def _up_to_date(out: Path, spec: FigureSpec, key: str, formats: Sequence[str]) -> bool:
    meta_path = out / f"{spec.name}.json"
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return False
    if meta.get("input_key") != key:
        return False
    return all((out / f"{spec.name}.{ext}").is_file() for ext in ("csv", *formats))


def run_gallery(out: str | Path, *, only: Sequence[str] | None = None, formats: str | Sequence[str] = ("png",),
                force: bool = False, dpi: int = 110, network: Network | None = None, command: str = "",
                progress: Callable[[float, float, str], None] | None = None) -> GalleryReport:
    """Build the gallery into ``out``; figures whose inputs did not change are left as they are.

    Parameters
    ----------
    out : output directory (created if missing).
    only : figure names or letters (default: all).
    formats : image formats, from ``png``, ``svg``, ``pdf``.
    force : recompute every selected figure.
    dpi : raster resolution.
    network : the model (default: the shipped ``il6``).
    command : the command line, recorded in each figure's metadata.
    progress : called as ``progress(done, total, name)`` in units of estimated seconds.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> run_gallery(d, only=["schematic"]).summary()
    'recomputed: 1, up to date: 0'
    >>> run_gallery(d, only=["schematic"]).summary()
    'recomputed: 0, up to date: 1'
    """
    from .shipped import load_network

    specs = select(only)
    fmts = parse_formats(formats)
    if not (10 <= int(dpi) <= 1200):
        raise Il6simError(f"--dpi must be between 10 and 1200, got {dpi}")
    path = prepare_out_dir(out)
    net = network if network is not None else load_network("il6")
    report = GalleryReport()
    total = sum(s.estimate_s for s in specs)
    done = 0.0
    for spec in specs:
        if progress:  # the bar names the figure being worked on
            progress(done, total, spec.name)
        ok, why = spec.available()
        if not ok:
            report.absent[spec.name] = why
            done += spec.estimate_s
            if progress:
                progress(done, total, spec.name)
            continue
        inputs = _input_files(spec, net)
        key = _input_key(spec, net, inputs, int(dpi))
        if not force and _up_to_date(path, spec, key, fmts):
            report.up_to_date.append(spec.name)
            done += spec.estimate_s
            if progress:
                progress(done, total, spec.name)
            continue
        t0 = time.perf_counter()
        table, fig = spec.builder()(net, **dict(spec.options))
        images = {fmt: _image_bytes(fig, fmt, int(dpi)) for fmt in fmts}
        _close(fig)  # a gallery run must not leave its figures open in pyplot
        files = []
        for fmt, data in images.items():
            atomic_write(path / f"{spec.name}.{fmt}", data)
            files.append(f"{spec.name}.{fmt}")
        atomic_write(path / f"{spec.name}.csv", _table_bytes(table))
        files.append(f"{spec.name}.csv")
        files.append(f"{spec.name}.json")
        meta: dict[str, Any] = {
            "figure": spec.name, "letter": spec.letter, "title": spec.title, "description": spec.description,
            "il6sim_version": __version__, "code_version": spec.code_version, "code_hash": _code_hash(spec),
            "model": net.name, "network_hash": net.content_hash, "inputs": inputs, "options": dict(spec.options),
            "dpi": int(dpi), "formats": list(fmts), "command": command, "input_key": key,
            "files": files, "columns": list(table.columns), "rows": int(len(table)),
        }
        atomic_write(path / f"{spec.name}.json", (json.dumps(meta, indent=1, sort_keys=True) + "\n").encode())
        report.written += [str(path / f) for f in files]
        report.recomputed.append(spec.name)
        report.seconds[spec.name] = time.perf_counter() - t0
        done += spec.estimate_s
        if progress:
            progress(done, total, spec.name)
    return report


def gallery_markdown(image_dir: str = "figures") -> str:
    """The gallery page (Markdown): one section per figure with its image and a line on what it shows.

    >>> print(gallery_markdown().splitlines()[0])
    # il6sim figure gallery
    """
    lines = ["# il6sim figure gallery", "",
             "Every figure below is regenerated, with the data it plots (`NAME.csv`) and its provenance "
             "(`NAME.json`: il6sim version, model hash, input file hashes, command), by",
             "", "```bash", "il6sim figures --out docs/figures", "```", "",
             "Figures whose inputs did not change are not recomputed (`--force` recomputes); "
             "`--only NAME` picks figures and `--format png,svg,pdf` the image formats.", ""]
    for s in _SPECS:
        lines += [f"## ({s.letter}) {s.title}", "", s.description, ""]
        lines += [f"![{s.title}]({image_dir}/{s.name}.png)", ""]
    return "\n".join(lines)
