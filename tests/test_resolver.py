import pytest

from hubcore.errors import ModuleNotFound, ResolutionError
from hubcore.registry import parse_registry
from hubcore.resolver import Installed, parse_request, resolve

PADDLE_CPU = ("paddlepaddle", "3.3.1")


def registry(modules: dict) -> object:
    doc = {"schema": 1, "modules": {}}
    for name, versions in modules.items():
        doc["modules"][name] = {"package": f"hubmod-{name}", "summary": name, "category": "t/t", "versions": {
            v: {"requirement": f"hubmod-{name}=={v}", "paddle": d.get("paddle"), "modules": d.get("modules", {})}
            for v, d in versions.items()}}
    return parse_registry(doc, "test-registry")


REG = registry({
    "ocr": {"1.0": {"modules": {"det": ">=1"}}, "1.2": {"modules": {"det": ">=2"}, "paddle": ">=2.6"}},
    "det": {"1.0": {}, "1.5": {}, "2.0": {"paddle": ">=3"}},
    "table": {"1.0": {"modules": {"det": "<2"}}},
    "app": {"1.0": {"modules": {"ocr": ">=1.2"}}},
})
DET_1 = Installed("det", "1.0", "hubmod-det")
TABLE = Installed("table", "1.0", "hubmod-table", modules={"det": "<2"})


def plan(*requests, installed=None, paddle=PADDLE_CPU, **kw):
    return resolve([parse_request(r) for r in requests], REG, installed or {}, paddle, **kw)


def steps(p):
    return [(s.action, s.name, s.version) for s in p.steps]


def test_picks_newest_versions_and_orders_dependencies_first():
    p = plan("ocr")
    assert steps(p) == [("install", "det", "2.0"), ("install", "ocr", "1.2")]
    assert p.pip_requirements == ["hubmod-det==2.0", "hubmod-ocr==1.2"]
    assert p.steps[0].reason == "needed by ocr 1.2" and p.steps[1].reason == "requested"
    assert dict(p.paddle_needs) == {"det": ">=3", "ocr": ">=2.6"}


def test_keeps_installed_modules_and_backtracks_around_their_constraints():
    p = plan("ocr", installed={"det": DET_1, "table": TABLE})
    assert steps(p) == [("keep", "det", "1.0"), ("install", "ocr", "1.0")]
    assert p.pip_requirements == ["hubmod-ocr==1.0"]


def test_a_conflict_is_explained_as_chains_not_a_dump():
    with pytest.raises(ResolutionError) as err:
        plan("app", installed={"det": DET_1, "table": TABLE})
    assert str(err.value) == (
        "cannot install app: you asked for app -> app 1.0 needs ocr>=1.2 -> ocr 1.2 needs det>=2, but table 1.0 "
        "(installed) needs det<2; det 1.0 is installed and the registry has det 1.0, 1.5, 2.0")


def test_paddle_range_steers_versions_and_is_never_installed():
    p = plan("ocr", paddle=("paddlepaddle-gpu", "2.6.0"))
    assert steps(p) == [("install", "det", "1.5"), ("install", "ocr", "1.0")]
    assert not any("paddle" in r for r in p.pip_requirements)
    with pytest.raises(ResolutionError, match=r"ocr 1.2 needs paddle>=2.6; paddlepaddle-gpu 2.5.0 is installed; "
                                              r"install a matching build yourself \(`pip install 'paddlepaddle-gpu>=2.6'`\)"):
        plan("ocr==1.2", paddle=("paddlepaddle-gpu", "2.5.0"))


def test_missing_paddle_says_how_to_install_either_build():
    with pytest.raises(ResolutionError, match=r"neither paddlepaddle nor paddlepaddle-gpu is installed; install one "
                                              r"first: `pip install paddlepaddle` \(CPU\) or `pip install paddlepaddle-gpu`"):
        plan("ocr==1.2", paddle=None)
    assert steps(plan("table", paddle=None)) == [("install", "det", "1.5"), ("install", "table", "1.0")]


def test_already_installed_is_nothing_to_do_unless_upgrading():
    installed = {"ocr": Installed("ocr", "1.0", "hubmod-ocr", modules={"det": ">=1"}), "det": DET_1}
    assert plan("ocr", installed=installed).changes == []
    up = plan("ocr", installed=installed, upgrade=True)
    assert steps(up) == [("upgrade", "det", "2.0"), ("upgrade", "ocr", "1.2")]
    assert up.steps[0].old_version == "1.0"
    down = plan("det==1.0", installed={"det": Installed("det", "1.5", "hubmod-det")})
    assert steps(down) == [("downgrade", "det", "1.0")]


def test_unknown_names_and_impossible_versions():
    with pytest.raises(ModuleNotFound, match=r"no module named 'ocx' in the registry \(test-registry\).*did you mean ocr"):
        plan("ocx")
    with pytest.raises(ResolutionError, match=r"you asked for ocr>=5; the registry has ocr 1.0, 1.2"):
        plan("ocr>=5")
    with pytest.raises(ResolutionError, match="not a PEP 440 specifier"):
        parse_request("ocr>>1")
    assert (parse_request("ocr 1.2").specifier, parse_request("ocr==1.2").specifier) == ("==1.2", "==1.2")


def test_an_installed_module_with_unmet_needs_does_not_block_other_installs():
    # table's need for "gone" is unmet already (nothing can keep it); its det<2 still holds and is kept.
    broken = Installed("table", "1.0", "hubmod-table", modules={"det": "<2", "gone": ">=1"})
    assert steps(plan("ocr", installed={"table": broken})) == [("install", "det", "2.0"), ("install", "ocr", "1.2")]
    assert steps(plan("det", installed={"table": broken, "det": DET_1}, upgrade=True)) == [("upgrade", "det", "1.5")]


def test_an_installed_module_changed_to_make_room_is_part_of_the_plan():
    reg = registry({"ocr": {"1.2": {"modules": {"det": ">=2"}}}, "det": {"1.0": {}, "2.0": {}},
                    "table": {"1.0": {"modules": {"det": "<2"}}, "1.1": {"modules": {"det": ">=2"}}}})
    installed = {"det": DET_1, "table": TABLE}
    p = resolve([parse_request("ocr")], reg, installed, PADDLE_CPU)
    assert sorted(steps(p)) == [("install", "ocr", "1.2"), ("upgrade", "det", "2.0"), ("upgrade", "table", "1.1")]
    assert p.pip_requirements[-1] == "hubmod-table==1.1"
    assert next(s for s in p.steps if s.name == "table").reason == "installed; changed to fit the new versions"
