"""Package layout that pyproject.toml cannot express on its own.

Everything else about the project is in pyproject.toml. Packages are found as
``[tool.setuptools.packages.find]`` would find them (app*, probes*, PEP 420
namespaces included), and the top-level ``alembic/`` directory, which stays where
it is for the ``alembic`` CLI, is shipped inside the wheel as ``app.migrations``
(env.py, script.py.mako, versions/*.py), so ``thongsuot db upgrade`` works from
an installed wheel; app/migrate.py finds it there and falls back to the checkout.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[
        *find_namespace_packages(include=["app", "app.*", "probes", "probes.*"]),
        "app.migrations",
        "app.migrations.versions",
    ],
    package_dir={"app.migrations": "alembic"},
)
