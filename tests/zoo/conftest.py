"""Fixtures of the zoo's tests: zips in the upstream layout."""

import io
import zipfile

import pytest


@pytest.fixture(scope="session")
def zip_of(model_folder_1ch):
    """``zip_of(id)``: the exporter's model folder zipped with the top folder ``<id>/`` (memoised)."""
    made: dict[int, bytes] = {}

    def make(model_id: int) -> bytes:
        if model_id not in made:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
                for file in sorted(p for p in model_folder_1ch.rglob("*") if p.is_file()):
                    archive.write(file, f"{model_id}/{file.relative_to(model_folder_1ch).as_posix()}")
            made[model_id] = buffer.getvalue()
        return made[model_id]

    return make
