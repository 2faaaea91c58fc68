"""Serving photos and evidence: to those who may see the shelter (404 for anyone else), as
stored (re-encoded, without metadata), with a thumbnail kept from upload time, cached only
privately; rows stored before the file store, read through the same checks; the migration."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session

from api.db import alembic_config, build_engine, upgrade
from api.state import AppState
from inspection.models import Attachment, Role
from tests.api.conftest import CODE, DISTRICT_B, PNG, World, error_of
from tests.conftest import PG_ADMIN_URL, UserFactory
from tests.images import pdf, phone_jpeg, png

SCRIPT = b"<script>alert(1)</script>"


def _photo(world: World, inspection: int, name: str, data: bytes, kind: str) -> dict[str, Any]:
    r = world.api.client.post(
        f"/api/v1/inspections/{inspection}/photos",
        headers=world.inspector.headers,
        files=[("files", (name, data, kind))],
    )
    assert r.status_code == 201, r.text
    photo: dict[str, Any] = r.json()[0]
    return photo


@pytest.fixture
def inspection(world: World) -> int:
    body = world.api.inspect(world.inspector, CODE, "EQ-RUST", "DOOR-NOT-CLOSING")
    return int(body["id"])


def _image(response: Any) -> Image.Image:
    assert response.status_code == 200, response.text
    return Image.open(io.BytesIO(response.content))


def test_a_photo_is_served_without_its_metadata(
    world: World, client: TestClient, inspection: int
) -> None:
    photo = _photo(world, inspection, "door.jpg", phone_jpeg(60, 40, orientation=6), "image/jpeg")
    r = client.get(photo["url"], headers=world.manager.headers)
    img = _image(r)
    assert (img.format, img.size) == ("JPEG", (40, 60))  # upright
    assert len(img.getexif()) == 0  # GPS, camera and time gone
    assert not {"exif", "comment", "xmp"} & img.info.keys()
    assert (photo["width"], photo["height"], photo["size"]) == (40, 60, len(r.content))
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "private, max-age=86400"
    assert "sandbox" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    again = client.get(
        photo["url"], headers={**world.manager.headers, "If-None-Match": r.headers["etag"]}
    )
    assert (again.status_code, again.content) == (304, b"")


def test_thumbnails_are_made_at_upload_and_kept(
    world: World, client: TestClient, inspection: int, state: AppState, db: Session
) -> None:
    photo = _photo(world, inspection, "wide.png", png(1000, 500), "image/png")
    row = db.get(Attachment, photo["id"])
    assert row is not None and row.thumbnail_key is not None and row.file_key is not None
    assert row.data is None  # the database keeps metadata only
    with state.files.open(row.thumbnail_key) as stored:
        kept = stored.read()
    r = client.get(photo["thumbnail_url"], headers=world.officer.headers)
    thumb = _image(r)
    assert (thumb.format, thumb.size, r.content) == ("JPEG", (320, 160), kept)
    assert r.headers["cache-control"] == "private, max-age=86400"


def test_pdf_evidence_is_downloaded_and_has_no_thumbnail(
    world: World, client: TestClient, inspection: int
) -> None:
    door = world.api.client.get(
        f"/api/v1/inspections/{inspection}", headers=world.manager.headers
    ).json()["findings"][1]["id"]
    data = pdf()
    r = client.post(
        f"/api/v1/findings/{door}/fix",
        headers=world.manager.headers,
        data={"note": "见报告"},
        files=[("files", ("整改报告.pdf", data, "application/pdf"))],
    )
    [evidence] = r.json()["attachments"]
    served = client.get(evidence["url"], headers=world.officer.headers)
    assert (served.status_code, served.content) == (200, data)
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"].startswith('attachment; filename="')
    assert "%E6%95%B4%E6%94%B9" in served.headers["content-disposition"]  # 整改, encoded
    thumb = client.get(f"{evidence['url']}/thumbnail", headers=world.officer.headers)
    assert error_of(thumb) == (404, "no_thumbnail")


def test_only_those_who_see_the_shelter_get_its_files(
    world: World, client: TestClient, inspection: int, make_user: UserFactory
) -> None:
    other_manager = make_user(Role.MANAGER)
    world.api.shelter("SH-B", DISTRICT_B, manager=other_manager)
    photo = _photo(world, inspection, "a.png", PNG, "image/png")
    door = client.get(f"/api/v1/inspections/{inspection}", headers=world.manager.headers).json()[
        "findings"
    ][1]["id"]
    fix = world.api.fix(world.manager, door).json()["attachments"][0]
    for url in (photo["url"], photo["thumbnail_url"], fix["url"], fix["thumbnail_url"]):
        for who in (world.manager, world.inspector, world.officer, world.api.admin):
            assert client.get(url, headers=who.headers).status_code == 200, (url, who.username)
        for who in (other_manager, world.officer_b):
            assert error_of(client.get(url, headers=who.headers)) == (
                404,
                "attachment_not_found",
            ), (url, who.username)
        assert error_of(client.get(url)) == (401, "not_authenticated")
    missing = client.get("/api/v1/attachments/999999", headers=world.api.admin.headers)
    assert error_of(missing) == (404, "attachment_not_found")
    assert error_of(
        client.get("/api/v1/attachments/99999999999999999999", headers=world.api.admin.headers)
    ) == (422, "validation_error")


def test_finding_reads_carry_their_files(world: World, client: TestClient, inspection: int) -> None:
    read = client.get(f"/api/v1/inspections/{inspection}", headers=world.manager.headers).json()
    rust = read["findings"][0]["id"]
    r = client.post(
        f"/api/v1/inspections/{inspection}/photos",
        headers=world.inspector.headers,
        files=[("files", ("rust.png", PNG, "image/png"))],
        data={"finding_id": str(rust)},
    )
    [photo] = r.json()
    shelter = client.get(f"/api/v1/shelters/{CODE}", headers=world.manager.headers).json()
    [finding] = [f for f in shelter["open_findings"] if f["id"] == rust]
    assert [(a["id"], a["url"], a["thumbnail_url"]) for a in finding["attachments"]] == [
        (
            photo["id"],
            f"/api/v1/attachments/{photo['id']}",
            f"/api/v1/attachments/{photo['id']}/thumbnail",
        )
    ]
    mine = client.get("/api/v1/me/shelters", headers=world.manager.headers).json()
    listed = [f for s in mine["items"] for f in s["open_findings"] if f["id"] == rust]
    assert [a["id"] for a in listed[0]["attachments"]] == [photo["id"]]


# ---------------------------------------------------------------- rows from before


def _legacy_row(db: Session, inspection: int, uploader: int, data: bytes, kind: str) -> int:
    row = Attachment(
        inspection_id=inspection,
        purpose="inspection",
        filename="old.jpg",
        content_type=kind,
        size=len(data),
        sha256="0" * 64,
        data=data,
        uploaded_by=uploader,
        uploaded_at=datetime(2026, 5, 1, tzinfo=UTC),
    )
    db.add(row)
    db.commit()
    return row.id


def test_rows_from_before_are_served_through_the_checks(
    world: World, client: TestClient, inspection: int, db: Session
) -> None:
    old = _legacy_row(
        db, inspection, world.inspector.id, phone_jpeg(60, 40, orientation=6), "image/jpeg"
    )
    r = client.get(f"/api/v1/attachments/{old}", headers=world.manager.headers)
    img = _image(r)
    assert img.size == (40, 60)
    assert len(img.getexif()) == 0
    thumb = _image(
        client.get(f"/api/v1/attachments/{old}/thumbnail", headers=world.manager.headers)
    )
    assert thumb.format == "JPEG"
    polyglot = _legacy_row(db, inspection, world.inspector.id, PNG + SCRIPT, "image/png")
    refused = client.get(f"/api/v1/attachments/{polyglot}", headers=world.manager.headers)
    assert error_of(refused) == (404, "file_unavailable")
    read = client.get(f"/api/v1/inspections/{inspection}", headers=world.manager.headers).json()
    assert [p["id"] for p in read["photos"]] == [old, polyglot]


@pytest.fixture
def bare_db(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of the test's kind, not migrated."""
    if db_url.startswith("sqlite"):
        engine = build_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield engine
        engine.dispose()
        return
    name = f"sw_mig_{tmp_path.name[-20:].lower().replace('-', '_')}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = build_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_the_migration_keeps_old_rows_readable(bare_db: Engine) -> None:
    cfg = alembic_config(bare_db.url.render_as_string(hide_password=False))
    before = ScriptDirectory.from_config(cfg).get_revision("uploads_1").down_revision
    assert isinstance(before, str)
    with bare_db.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, before)
    now = datetime(2026, 5, 1, tzinfo=UTC)
    with bare_db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (username, display_name, role, channels, active, created_at) "
                "VALUES ('old', '', 'inspector', '{}', true, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO attachments (purpose, filename, content_type, size, sha256, data, "
                "uploaded_by, uploaded_at) VALUES ('fix', :name, 'image/png', :size, :sha, :data, "
                "(SELECT id FROM users), :now)"
            ),
            {
                "name": "../../../../etc/passwd\x1b.png",
                "size": len(PNG),
                "sha": "1" * 64,
                "data": PNG,
                "now": now,
            },
        )
    upgrade(bare_db)
    with Session(bare_db) as session:
        row = session.scalars(select(Attachment)).one()
        assert (row.filename, row.file_key, row.data) == ("passwd.png", None, PNG)


def test_openapi_documents_uploads_and_files(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    photos = paths["/api/v1/inspections/{inspection_id}/photos"]["post"]
    form = photos["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert form["files"]["items"] == {"type": "string", "format": "binary"}
    assert "finding_id" in form
    assert {"413", "422"} <= photos["responses"].keys()
    fix = paths["/api/v1/findings/{finding_id}/fix"]["post"]
    assert "note" in fix["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    served = paths["/api/v1/attachments/{attachment_id}"]["get"]["responses"]
    assert {"image/jpeg", "image/png", "image/webp", "application/pdf"} <= served["200"][
        "content"
    ].keys()
    thumb = paths["/api/v1/attachments/{attachment_id}/thumbnail"]["get"]["responses"]
    assert set(thumb["200"]["content"]) == {"image/jpeg"}
    attachment = spec["components"]["schemas"]["AttachmentRead"]["properties"]
    assert {"url", "thumbnail_url", "width", "height"} <= attachment.keys()
    finding = spec["components"]["schemas"]["FindingRead"]["properties"]
    assert finding["attachments"]["items"] == {"$ref": "#/components/schemas/AttachmentRead"}


def test_photos_are_not_gzipped(world: World, client: TestClient, inspection: int) -> None:
    photo = _photo(world, inspection, "wide.png", png(1000, 500), "image/png")
    r = client.get(photo["url"], headers={**world.manager.headers, "Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert "content-encoding" not in r.headers
    assert int(r.headers["content-length"]) == photo["size"]
