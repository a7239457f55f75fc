"""Fuzzing every loader: the only outcomes are a valid object or one of il6sim's own errors.

Each loader gets ``IL6SIM_FUZZ_EXAMPLES`` (default 10,000) generated inputs, a mix of structured
mutations of shipped or hand-written valid files (a value replaced by a random number, unit string,
nan/inf/huge number, code, array or table; a line dropped, duplicated or inserted; a key renamed;
bytes flipped; the file truncated) and raw text or bytes. A loader that is too slow for that many
is fuzzed at full count on its parsing layer and at a smaller count end to end:

* model files: the small models (``binding.toml`` and a hand-written model using every table) at the
  full count; the shipped ``il6.toml`` (~30 ms per load) at ``FEW``;
* drug files: ``parse_drug`` at the full count; ``add_drug`` onto the shipped model at ``FEW``;
* regimen files: the regimen reader at the full count; ``build_run`` with the regimen at ``FEW``;
* sweep specs: ``load_sweep_spec`` at the full count with ``load_model`` memoised (networks are
  immutable; without it each example would re-read ``il6.toml``).

Any other exception fails the test and Hypothesis shrinks it to a minimal input. The last test
prints ``fuzz: N inputs per loader ...``.
"""

from __future__ import annotations

import functools
import io
import json
import os
import random
import re
import string
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import il6sim.shipped
from il6sim.errors import Il6simError
from il6sim.results import Result
from il6sim.tomlsource import TomlSource, parse_toml_bytes

ROOT = Path(__file__).resolve().parent.parent
N = int(os.environ.get("IL6SIM_FUZZ_INPUTS", "10000"))  # inputs per loader
FEW = max(N // 20, 50)  # inputs for the slow end-to-end loaders
BATCH = 5  # inputs per Hypothesis example: its own overhead is ~2 ms per example on the CI machine
MARKER = Path(tempfile.gettempdir()) / f"il6sim-fuzz-marker-{os.getpid()}"

FUZZ = settings(max_examples=max(N // BATCH, 1), deadline=None, database=None, phases=[Phase.explicit, Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck))
FUZZ_FEW = settings(FUZZ, max_examples=max(FEW // BATCH, 1))

COUNTS: Counter[str] = Counter()
VALID: Counter[str] = Counter()

# ---------------------------------------------------------------------------------------------
# Base files
# ---------------------------------------------------------------------------------------------
BINDING = (ROOT / "models/examples/binding.toml").read_text()
IL6 = (ROOT / "models/il6.toml").read_text()
TCZ = (ROOT / "models/drugs/tocilizumab.toml").read_text()
OLO = (ROOT / "models/drugs/olokizumab.toml").read_text()
DEX = (ROOT / "models/drugs/dexamethasone.toml").read_text()
COVID = (ROOT / "models/scenarios/covid_severe_fixed.toml").read_text()
RICH = """[model]
name = "rich"
description = "every table and most keys, small enough to fuzz"
[compartments.blood]
volume = "3 l"
source = "assumed"
[compartments.tissue]
volume = "10 l"
source = "assumed"
[species.il6]
compartment = "blood"
initial = "2 pg/ml"
mw = "21 kDa"
source = "assumed"
[species.il6r]
compartment = "tissue"
initial = "1 nM"
kind = "mil6r"
[species.c]
compartment = "tissue"
initial = 0
boundary = false
[species.src]
compartment = "blood"
initial = "1 nM"
boundary = true
[parameters.kon]
value = "1e6 1/(M*s)"
source = "assumed"
[parameters.kd]
value = 2
unit = "nM"
source = "assumed"
[parameters.ksyn]
value = "47.8 ng/ml/d"
mw = "21 kDa"
source = "assumed"
[parameters.kel]
value = "0.5 1/h"
source = "assumed"
[[reactions]]
equation = "il6 + il6r <=> c"
forward = "kon"
kd = "kd"
compartment = "tissue"
[[reactions]]
id = "syn"
equation = "src -> src + il6"
rate = "ksyn / kd"
orders = { src = 1 }
[[reactions]]
equation = "2 il6 -> 0"
rate = "kon"
orders = { il6 = 2 }
[[reactions]]
equation = "c <=> il6r"
forward = "kel"
reverse = "2 * kel"
reverse_orders = { il6r = 1 }
[observables.il6_total_pg_ml]
terms = { il6 = 1 }
unit = "pg/ml"
mw = "21 kDa"
counts = "il6"
[observables.bound]
terms = { c = 1 }
denominator = { c = 1, il6r = 1 }
[observables.per_cell]
terms = { c = 1 }
unit = "molecule/cell"
scale = "5e-12 l/cell"
[genotypes.rs1]
reference = "AA"
description = "a variant"
[genotypes.rs1.AC]
scale = { kel = 1.5 }
"""
REGIMEN = """[regimen]
name = "two drugs"
weight = "80 kg"
[[doses]]
drug = "tocilizumab"
dose = "8 mg/kg"
route = "iv"
infusion = "1 h"
at = "1 d"
every = "28 d"
count = 1
[[doses]]
drug = "dexamethasone"
at = "2 d"
every = "1 d"
count = 3
"""
SWEEP = """[sweep]
model = "il6"
days = 10
step = "12 h"
seed = 1
rows = 4
chunk_size = 2
observables = ["il6_free_pg_ml", "crp_mg_l"]
metrics = ["peak", "auc", "trough", "time_above:10"]
weight = "70 kg"
rtol = 1e-6
atol = 1e-12
max_steps = 1000
timecourses = false
[[factors]]
parameter = "k_il6_basal"
grid = ["0.001 nM/h", "0.002 nM/h"]
[[factors]]
parameter = "kd_il6_sil6r"
sampler = "lhs"
low = "0.1 nM"
high = "1 nM"
scale = "log"
[[factors]]
parameter = "k_infl_deg"
sampler = "lognormal"
median = "0.03 1/h"
sigma = 0.2
"""
SBML_SMALL = """<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">
  <model id="m">
    <listOfCompartments>
      <compartment id="c" size="2" spatialDimensions="3" constant="true"/>
    </listOfCompartments>
    <listOfSpecies>
      <species id="A" compartment="c" initialAmount="4" hasOnlySubstanceUnits="false" boundaryCondition="false" constant="false"/>
      <species id="B" compartment="c" initialConcentration="1" hasOnlySubstanceUnits="false" boundaryCondition="false" constant="false"/>
      <species id="S" compartment="c" initialConcentration="1" hasOnlySubstanceUnits="false" boundaryCondition="true" constant="false"/>
    </listOfSpecies>
    <listOfParameters>
      <parameter id="k" value="0.5" constant="true"/>
      <parameter id="k2" value="2" constant="true"/>
    </listOfParameters>
    <listOfReactions>
      <reaction id="J" reversible="true">
        <listOfReactants><speciesReference species="A" stoichiometry="2" constant="true"/></listOfReactants>
        <listOfProducts><speciesReference species="B" stoichiometry="1" constant="true"/></listOfProducts>
        <listOfModifiers><modifierSpeciesReference species="S"/></listOfModifiers>
        <kineticLaw>
          <math xmlns="http://www.w3.org/1998/Math/MathML">
            <apply><minus/>
              <apply><times/><ci>c</ci><ci>k</ci><apply><power/><ci>A</ci><cn type="integer">2</cn></apply></apply>
              <apply><divide/><apply><times/><ci>kl</ci><ci>B</ci><ci>S</ci></apply><apply><plus/><ci>k2</ci><cn>1</cn></apply></apply>
            </apply>
          </math>
          <listOfLocalParameters><localParameter id="kl" value="0.25"/></listOfLocalParameters>
        </kineticLaw>
      </reaction>
    </listOfReactions>
  </model>
</sbml>
"""

# ---------------------------------------------------------------------------------------------
# Generators. Hypothesis draws a base file and a 64-bit seed; a seeded ``random.Random`` then makes
# the mutations. Drawing every mutation through Hypothesis costs ~4 ms per example, which 10,000
# examples per loader cannot afford; a seed costs ~0.1 ms. A failure is reported with its input.
# ---------------------------------------------------------------------------------------------
UNIT_TOKENS = ["nM", "pM", "uM", "µM", "M", "mol", "nmol", "molecule", "pg", "ng", "ug", "µg", "mg", "g", "kg",
               "Da", "kDa", "l", "ml", "mL", "dl", "ul", "s", "min", "h", "d", "wk", "day", "cell", "%", "1"]
UNIT_GLUE = ["/", "*", "·", "^", "^2", "^-1", "^0.5", "(", ")", " ", "^400", "^1e400", "e", "^nan"]
HOSTILE = [f"__import__('os').system('touch {MARKER}')", f"$(touch {MARKER})", f"`touch {MARKER}`",
           f"{{{{ touch {MARKER} }}}}", "eval(\"1+1\")", "os.system", "; rm -rf /", "${HOME}", "%(x)s", "{0}",
           "\x00", "\u202e", "\ud800", "../../../../etc/passwd", "/dev/zero", "/proc/self/mem"]
SPECIAL_NUMBERS = ["nan", "inf", "-inf", "1e400", "-1e400", "1e308", "-1e308", "1e-400", "5e-324", "-1", "0", "-0",
                   "1e30", "+1", ".5", "1.", "1e", "--1", "0x10", "1_000", "", " ", "9" * 400]
KEYS = ["name", "id", "value", "unit", "source", "volume", "initial", "mw", "boundary", "compartment", "equation",
        "rate", "forward", "reverse", "kd", "kon", "koff", "kint", "orders", "terms", "scale", "denominator", "counts",
        "reference", "target_class", "kind", "cl", "v1", "q", "v2", "ka", "f_sc", "weight_ref", "dose", "route", "at",
        "every", "count", "infusion", "weight", "days", "admission", "species", "start", "stop", "set", "add",
        "parameter", "grid", "sampler", "low", "high", "median", "sigma", "mean", "sd", "rows", "seed", "step", "model",
        "scenario", "observables", "metrics", "chunk_size", "rtol", "atol", "max_steps", "cl_weight_exponent",
        "v_weight_exponent", "blocks", "factor", "timecourses", "description", "valency", "reverse_orders"]
NAMES = ["il6", "il6r", "sil6r", "mil6r", "gp130", "l", "r", "l__r", "kon", "kd", "k_il6_basal", "tocilizumab",
         "covid_severe", "lhs", "sobol", "uniform", "normal", "log", "linear", "peak", "auc", "inhibition",
         "time_above:10", "cytokine", "receptor", "complex", "production", "iv", "sc", "oral", "AA", "AC", "blood"]
TABLES = ["[model]", "[species.x]", "[parameters.k]", "[[reactions]]", "[observables.o]", "[genotypes.g]",
          "[genotypes.g.AC]", "[drug]", "[pk]", "[[targets]]", "[dosing]", "[[effects]]", "[scenario]", "[parameters]",
          "[[events]]", "[[infusions]]", "[regimen]", "[[doses]]", "[sweep]", "[[factors]]", "[[drugs]]", "[x",
          "[[x]]", "[]", "[compartments.blood]"]
BROKEN = ["[", "{", '"', "'" * 3, "[[]]", "{ a = { b = { c = 1 } } }", "[" * 200 + "]" * 200]
_KEY_LINE = re.compile(r"^(\s*)([^=\[\]#]+?)(\s*=\s*)(.*)$")


def _number(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.3:
        return rng.choice(SPECIAL_NUMBERS)
    if r < 0.6:
        return repr(rng.uniform(-10, 10) * 10.0 ** rng.randint(-330, 300))
    if r < 0.8:
        return str(rng.randint(-(10**6), 10**6))
    return repr(rng.choice([0.0, 1.0, 2.5, 1e-12, 1e6, 0.488, 70.0]))


def _text(rng: random.Random, n: int) -> str:
    alphabet = rng.choice([string.printable, "ab_1 .-/*()^\"'\\=[]{}#\n\t", "".join(map(chr, range(0x20, 0x800)))])
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, n)))


def _unit(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.4:
        return rng.choice(UNIT_TOKENS)
    if r < 0.85:
        return "".join(rng.choice(UNIT_TOKENS + UNIT_GLUE) for _ in range(rng.randint(1, 7)))
    return _text(rng, 10)


def _quantity(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.7:
        return f"{_number(rng)}{rng.choice(['', ' ', '  '])}{_unit(rng)}"
    if r < 0.8:
        return rng.choice(HOSTILE)
    if r < 0.9:
        return rng.choice(NAMES)
    return _text(rng, 20)


def _toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a TOML basic string (lone surrogates make it invalid: fine)


def _scalar(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.25:
        return _number(rng)
    if r < 0.65:
        return _toml_str(_quantity(rng))
    if r < 0.75:
        return rng.choice(["true", "false", "1979-05-27", "07:32:00", "1979-05-27T07:32:00Z", "0x1f", "0o7", "0b1"])
    if r < 0.9:
        return _toml_str(rng.choice(NAMES))
    return _toml_str(_text(rng, 16))


def _literal(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.75:
        return _scalar(rng)
    if r < 0.85:
        return "[" + ", ".join(_scalar(rng) for _ in range(rng.randint(0, 3))) + "]"
    if r < 0.95:
        keys = rng.sample(NAMES, rng.randint(0, 3))
        return "{ " + ", ".join(f'"{k}" = {_scalar(rng)}' for k in keys) + " }"
    return rng.choice(BROKEN)


def _key(rng: random.Random) -> str:
    return rng.choice(KEYS) if rng.random() < 0.85 else (_text(rng, 8) or "k")


def mutate_toml(text: str, rng: random.Random) -> str:
    """1-3 line edits: a value replaced, a line dropped, duplicated or inserted, a key renamed, a table added."""
    lines = text.splitlines()
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
        if not lines:
            lines = [""]
        i = rng.randrange(len(lines))
        op = rng.choice(["value", "value", "value", "value", "drop", "duplicate", "insert", "rename", "table", "text"])
        if op in ("value", "rename"):
            candidates = [j for j, ln in enumerate(lines) if _KEY_LINE.match(ln)]
            if not candidates:
                continue
            j = rng.choice(candidates)
            m = _KEY_LINE.match(lines[j])
            if m is None:  # pragma: no cover
                continue
            lines[j] = (m.group(1) + m.group(2) + m.group(3) + _literal(rng) if op == "value"
                        else m.group(1) + _key(rng) + m.group(3) + m.group(4))
        elif op == "drop":
            del lines[i]
        elif op == "duplicate":
            lines.insert(rng.randrange(len(lines) + 1), lines[i])
        elif op == "insert":
            lines.insert(i, f"{_key(rng)} = {_literal(rng)}")
        elif op == "table":
            lines.insert(i, rng.choice(TABLES))
        else:
            lines.insert(i, _text(rng, 20))
    return "\n".join(lines) + "\n"


def _flip(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if buf:
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    return bytes(buf)


def _raw(rng: random.Random) -> bytes:
    if rng.random() < 0.5:
        return _text(rng, 200).encode("utf-8", "surrogatepass")
    return rng.randbytes(rng.randint(0, 200))


def _mixed(base: str, rng: random.Random, structured: Callable[[str, random.Random], str]) -> bytes:
    """80 % structured mutations; the rest byte flips, truncations and raw text or bytes."""
    r = rng.random()
    if r < 0.8:
        return structured(base, rng).encode("utf-8", "surrogatepass")
    if r < 0.88:
        return _flip(base.encode(), rng)
    if r < 0.93:
        return base.encode()[: rng.randint(0, len(base))]
    return _raw(rng)


SEEDS = st.integers(0, 2**64 - 1)
T = TypeVar("T")


def batch(make: Callable[[random.Random], T]) -> st.SearchStrategy[list[T]]:
    """``BATCH`` inputs from one drawn seed (Hypothesis shrinks the seed; a failure names its input)."""
    return SEEDS.map(lambda seed: [make(random.Random(seed * BATCH + k)) for k in range(BATCH)])


def file_inputs(*bases: str) -> st.SearchStrategy[list[bytes]]:
    return batch(lambda rng: _mixed(rng.choice(bases), rng, mutate_toml))


XML_VALUES = ["A", "B", "S", "c", "k", "k2", "kl", "J", "true", "false", "INF", "NaN", "-INF", "0", "", "x y",
              "&amp;", "&lt;", "&x;", "<", "3", "2", "-1", "1e400", "1e308", "0.5"]
XML_SNIPPETS = [
    "<ci>A</ci>", "<cn>1e400</cn>", "<cn>NaN</cn>", "<apply><divide/><ci>k</ci><ci>A</ci></apply>",
    "<apply><power/><ci>A</ci><cn>-1</cn></apply>",
    "<apply><power/><apply><plus/><ci>A</ci><ci>B</ci></apply><cn>0.5</cn></apply>",
    "<apply><power/><ci>A</ci><cn>1e308</cn></apply>",
    "<apply><power/><apply><plus/><ci>A</ci><ci>B</ci></apply><cn>64</cn></apply>",
    "<apply><power/><apply><plus/><ci>A</ci><ci>B</ci></apply><cn>1000000</cn></apply>",
    "<csymbol encoding='text' definitionURL='http://www.sbml.org/sbml/symbols/time'>t</csymbol>",
    "<apply><times/></apply>", "<apply><minus/></apply>", "<piecewise/>", "<listOfEvents/>",
    "<!DOCTYPE x>", "<!ENTITY a 'b'>", "<![CDATA[ x ]]>", "<?pi x?>", "&#0;", "&#xD800;",
    "<annotation><il6sim xmlns='https://github.com/il6sim/il6sim/sbml-annotation' observables='[' /></annotation>",
    "<annotation><il6sim xmlns='https://github.com/il6sim/il6sim/sbml-annotation' genotypes='{\"a\": 1}' />"
    "</annotation>",
    "<species id='Z' compartment='c' initialConcentration='1' hasOnlySubstanceUnits='false' "
    "boundaryCondition='false' constant='false'/>",
    "<parameter id='p' value='1e400' constant='true'/>",
]


def mutate_xml(text: str, rng: random.Random) -> str:
    """Attribute values replaced, lines dropped or duplicated, snippets inserted."""
    for _ in range(rng.choice([1, 1, 2, 3])):
        r = rng.random()
        if r < 0.6:
            attrs = list(re.finditer(r'="([^"]*)"', text))
            if attrs:
                m = rng.choice(attrs)
                value = rng.choice(XML_VALUES) if rng.random() < 0.6 else _number(rng)
                text = text[: m.start(1)] + value.replace('"', "") + text[m.end(1):]
        else:
            lines = text.splitlines() or [""]
            i = rng.randrange(len(lines))
            if r < 0.75:
                del lines[i]
            elif r < 0.85:
                lines.insert(rng.randrange(len(lines) + 1), lines[i])
            else:
                lines.insert(i, rng.choice(XML_SNIPPETS))
            text = "\n".join(lines) + "\n"
    return text


def sbml_inputs(*bases: str) -> st.SearchStrategy[list[bytes]]:
    return batch(lambda rng: _mixed(rng.choice(bases), rng, mutate_xml))


# ---------------------------------------------------------------------------------------------
# Harness
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    MARKER.unlink(missing_ok=True)
    return tmp_path_factory.mktemp("fuzz")


def _outcome(name: str, load: Callable[[], object], data: object = None) -> None:
    """Run one load: a valid object or an Il6simError; anything else fails the test, naming the input."""
    COUNTS[name] += 1
    try:
        load()
    except Il6simError:
        return
    except Exception as exc:
        raise AssertionError(f"{name}: {type(exc).__name__}: {exc} on input {data!r:.2000}") from exc
    VALID[name] += 1


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@functools.cache
def _il6():  # type: ignore[no-untyped-def]
    return il6sim.shipped.load_model("il6")


@pytest.fixture(scope="module")
def cached_models():  # type: ignore[no-untyped-def]
    """Memoise load_model (networks are immutable) so sweep specs do not re-read il6.toml per example."""
    original = il6sim.shipped.load_model
    cached = functools.lru_cache(maxsize=64)(original)

    def load(name_or_path="il6"):  # type: ignore[no-untyped-def]
        try:
            return cached(name_or_path)
        except TypeError:  # unhashable
            return original(name_or_path)

    il6sim.shipped.load_model = load  # type: ignore[assignment]
    yield
    il6sim.shipped.load_model = original


# ---------------------------------------------------------------------------------------------
# The loaders
# ---------------------------------------------------------------------------------------------
def _unit_case(rng: random.Random) -> tuple[str, str | None, object, float | None]:
    text = rng.choice([_quantity, _unit, _number])(rng)
    unit = None if rng.random() < 0.6 else _unit(rng)
    number = _number(rng)
    value: object = rng.choice([
        _quantity(rng), float(number) if _is_float(number) else number, rng.randint(-(10**400), 10**400),
        rng.choice([True, False, None, [1], {}, b"1h"]), rng.uniform(-1e6, 1e6)])
    mw = rng.choice([None, 1.0, 0.0, -1.0, float("nan"), float("inf"), 21e-6, 1e-320])
    return text, unit, value, mw


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@FUZZ
@given(cases=batch(_unit_case))
def test_fuzz_units(cases: list[tuple[str, str | None, object, float | None]]) -> None:
    from il6sim.units import CONCENTRATION, convert, parse_quantity, parse_time, parse_unit

    for text, unit, value, mw in cases:

        def load(text: str = text, unit: str | None = unit, mw: float | None = mw) -> None:
            q = parse_quantity(text, unit)
            try:  # the unit alone, and converting, are part of the boundary too; refusals are UnitErrors
                parse_unit(text.split(maxsplit=1)[-1] if text.strip() else text)
                convert(q, CONCENTRATION, mw=mw)
            except Il6simError:
                pass

        _outcome("units", load, (text, unit, mw))
        _outcome("times", lambda value=value, unit=unit: parse_time(value, unit or "h"), (value, unit))


def _toml(data: bytes, name: str) -> TomlSource:
    return parse_toml_bytes(data, name)  # what read_toml does after reading the file


@FUZZ
@given(inputs=file_inputs(BINDING, RICH))
def test_fuzz_model_file(inputs: list[bytes]) -> None:
    from il6sim.modelfile import parse_model

    for data in inputs:
        _outcome("model file", lambda data=data: parse_model(_toml(data, "model.toml")), data)


@FUZZ_FEW
@given(inputs=file_inputs(IL6))
def test_fuzz_shipped_model_file(workdir: Path, inputs: list[bytes]) -> None:
    for data in inputs:  # end to end, through a file
        _outcome("model file (il6.toml)",
                 lambda data=data: il6sim.shipped.load_model(_write(workdir / "il6.toml", data)), data)


@FUZZ
@given(inputs=file_inputs(TCZ, OLO, DEX))
def test_fuzz_drug_file(inputs: list[bytes]) -> None:
    from il6sim.drugs import parse_drug

    for data in inputs:
        _outcome("drug file", lambda data=data: parse_drug(_toml(data, "drug.toml")), data)


@FUZZ_FEW
@given(inputs=file_inputs(TCZ, OLO))
def test_fuzz_drug_added_to_model(workdir: Path, inputs: list[bytes]) -> None:
    from il6sim.drugs import add_drug, load_drug

    for data in inputs:
        _outcome("drug file + add_drug",
                 lambda data=data: add_drug(_il6(), load_drug(_write(workdir / "drug2.toml", data))), data)


@FUZZ
@given(inputs=file_inputs(COVID, COVID.replace("[[infusions]]", '[[events]]\nat = "2 d"\nset = { k_infl_deg = "0.1 1/h" }'
                                             '\nadd = { il6 = "5 pg/ml" }\n\n[[infusions]]')))
def test_fuzz_scenario_file(inputs: list[bytes]) -> None:
    from il6sim.scenario import parse_scenario

    net = _il6()
    for data in inputs:
        _outcome("scenario file", lambda data=data: parse_scenario(_toml(data, "scenario.toml"), net), data)


@FUZZ
@given(inputs=file_inputs(REGIMEN))
def test_fuzz_regimen_file(inputs: list[bytes]) -> None:
    from il6sim.regimen import parse_regimen

    for data in inputs:
        _outcome("regimen file", lambda data=data: parse_regimen(_toml(data, "regimen.toml")), data)


@FUZZ_FEW
@given(inputs=file_inputs(REGIMEN))
def test_fuzz_regimen_run(workdir: Path, inputs: list[bytes]) -> None:
    from il6sim.regimen import build_run

    for data in inputs:
        _outcome("regimen file + build_run",
                 lambda data=data: build_run(_il6(), regimen=_write(workdir / "regimen2.toml", data),
                                             duration_h=40 * 24.0), data)


@FUZZ
@given(inputs=file_inputs(SWEEP))
def test_fuzz_sweep_spec(cached_models: None, inputs: list[bytes]) -> None:
    from il6sim.sweeps import parse_sweep_spec

    for data in inputs:
        _outcome("sweep spec", lambda data=data: parse_sweep_spec(_toml(data, "sweep.toml")), data)


@FUZZ
@given(inputs=sbml_inputs(SBML_SMALL))
def test_fuzz_sbml(inputs: list[bytes]) -> None:
    pytest.importorskip("libsbml", reason="python-libsbml (the 'sbml' or 'test' extra) is not installed")
    from il6sim.sbml import read_sbml_string

    for data in inputs:
        _outcome("SBML file", lambda data=data: read_sbml_string(data, "model.xml"), data)


def _npz(arrays: dict[str, np.ndarray], meta: object) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays, meta=np.array(meta if isinstance(meta, str) else json.dumps(meta)))
    return buf.getvalue()


_GOOD = Result(time_h=[0.0, 1.0, 2.0], species=("a", "b"), values=np.arange(6.0).reshape(3, 2),
               observable_ids=("o",), observable_values=[[1.0], [2.0], [3.0]], observable_units=("nM",),
               provenance={"status": "success", "parameters": {"k": 1.0}})
_META = {"format": "il6sim.Result", "format_version": 1, "species": ["a", "b"], "observable_ids": ["o"],
         "observable_units": ["nM"], "provenance": {"status": "success"}}
_ARRAYS = [np.zeros(3), np.zeros((3, 2)), np.zeros((3, 1)), np.zeros(0), np.zeros((2, 2, 2)), np.array(["a", "b", "c"]),
           np.array([1 + 2j] * 3), np.array([True] * 3), np.array(5.0), np.full(3, np.nan), np.arange(6).reshape(3, 2),
           np.zeros((3, 2), dtype=np.float16), np.zeros((0, 2)), np.array([b"x", b"y", b"z"])]


def _json_value(rng: random.Random, depth: int = 0) -> object:
    r = rng.random()
    if depth < 2 and r < 0.2:
        return [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 2 and r < 0.35:
        return {_text(rng, 4): _json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return rng.choice([None, True, 3, -1, 1.5, float("nan"), "a", "", _text(rng, 5), ["a", "b"], ["o"], ["nM"]])


def _good_npz() -> bytes:
    return _npz({"time_h": np.asarray(_GOOD.time_h), "values": np.asarray(_GOOD.values),
                 "observable_values": np.asarray(_GOOD.observable_values)}, _META)


_GOOD_NPZ = _good_npz()


def _result_file(rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.6:  # structured: arrays and metadata mutated
        meta: object = dict(_META)
        for _ in range(rng.randint(0, 3)):
            key = rng.choice(list(_META))
            if rng.random() < 0.5:
                meta.pop(key, None)  # type: ignore[attr-defined]
            else:
                meta[key] = _json_value(rng)  # type: ignore[index]
        if rng.random() < 0.1:
            meta = rng.choice([_text(rng, 30), json.dumps(_json_value(rng)), "[" * 100000])
        chosen = {"time_h": np.array([0.0, 1.0, 2.0]), "values": np.arange(6.0).reshape(3, 2),
                  "observable_values": np.ones((3, 1))}
        for key in rng.sample(sorted(chosen), rng.randint(0, 3)):
            if rng.random() < 0.3:
                del chosen[key]
            else:
                chosen[key] = rng.choice(_ARRAYS)
        if rng.random() < 0.05:
            chosen["extra"] = np.zeros(2)
        return _npz(chosen, meta)
    if r < 0.8:
        return _flip(_GOOD_NPZ, rng)
    if r < 0.9:
        return _GOOD_NPZ[: rng.randint(0, len(_GOOD_NPZ))]
    if r < 0.95:  # a bare .npy, or an .npz with a pickled object array
        buf = io.BytesIO()
        if rng.random() < 0.5:
            np.save(buf, np.zeros(3))
        else:
            np.savez(buf, time_h=np.zeros(3), values=np.array([object()] * 6, dtype=object),
                     observable_values=np.zeros((3, 0)), meta=np.array(json.dumps(_META)))
        return buf.getvalue()
    return _raw(rng)


@FUZZ
@given(inputs=batch(_result_file))
def test_fuzz_result_load(inputs: list[bytes]) -> None:
    for data in inputs:
        _outcome("Result.load", lambda data=data: Result.load(io.BytesIO(data)), data)


def test_fuzz_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs last in this file: prints the number of inputs each loader was given."""
    assert not MARKER.exists(), "code in a fuzzed file was executed"
    if not COUNTS:
        pytest.skip("no fuzz test ran in this session")
    parts = [f"{name} {COUNTS[name]} ({VALID[name]} valid)" for name in COUNTS]
    line = "fuzz: inputs per loader: " + "; ".join(parts)
    with capsys.disabled():
        print(f"\n{line}")
