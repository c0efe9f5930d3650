"""`emstudio project create` and `emstudio info`."""

from __future__ import annotations

import argparse

from emstudio.cli.commands._common import add_listing, one_line
from emstudio.core.project import Project
from emstudio.core.project.project import job_as_seen
from emstudio.core.text import counted


def register(commands: argparse._SubParsersAction) -> None:
    proj = commands.add_parser("project", help="create a project folder")
    sub = proj.add_subparsers(dest="project_command", metavar="ACTION", required=True)
    create = sub.add_parser("create", help="create a new, empty project")
    create.add_argument("path", metavar="PATH", help="project folder to create (e.g. cells.emproj)")
    create.add_argument("--name", help="display name (default: the folder name)")
    create.set_defaults(run=run_create)

    add_listing(
        commands,
        "info",
        "list a project's volumes, label sets, mesh sets, models, jobs",
        project_summary,
        show_info,
    )


def run_create(args: argparse.Namespace) -> int:
    with Project.create(args.path, args.name) as project:
        print(f"created project {project.name!r} at {project.path}")
    return 0


def project_summary(project: Project) -> dict:
    volumes = project.catalog.volumes()
    return {
        "name": project.name,
        "path": str(project.path),
        "schema_version": project.catalog.schema_version,
        "volumes": [v.to_json() for v in volumes if v.kind != "labels"],
        "label_sets": [v.to_json() for v in volumes if v.kind == "labels"],
        "mesh_sets": [m.to_json() for m in project.catalog.mesh_set_records()],
        "models": [m.to_json() for m in project.catalog.models()],
        "jobs": [job_as_seen(j) for j in project.catalog.jobs()],
    }


def show_info(summary: dict) -> None:
    print(f"Project {summary['name']!r}  ({summary['path']})")
    for title, key in (("Volumes", "volumes"), ("Label sets", "label_sets")):
        print(f"\n{title}:" + ("" if summary[key] else " none"))
        for v in summary[key]:
            vs = v["voxel_size"]
            size = " x ".join(f"{s:g}" for s in vs["zyx_nm"]) + " nm" if vs["known"] else "unknown"
            print(
                f"  {v['name']:<24} {v['kind']:<12} {' x '.join(map(str, v['shape']))} {v['dtype']}"
                f"  voxel {size}  chunks {' x '.join(map(str, v['chunks']))}"
                f"  {v['levels']} levels"
            )
            print(f"  {'':<24} from {v['source']}; {_made_by(v['provenance'])}")
            if v["kind"] == "labels":
                classes = [
                    f"{k} = {n}" for k, n in v["attrs"].get("classes", {}).items() if k != "0"
                ]
                print(f"  {'':<24} classes: {', '.join(classes) or 'none (0 and 255 alone)'}")
    print("\nMesh sets:" + ("" if summary["mesh_sets"] else " none"))
    for m in summary["mesh_sets"]:
        of = m["attrs"].get("segmentation", "?")
        print(f"  {m['name']:<24} {counted(m['count'], 'object')} of {of!r}, {m['format']}")
        print(f"  {'':<24} {_made_by(m['provenance'])}")
    print("\nModels:" + ("" if summary["models"] else " none"))
    for m in summary["models"]:
        print(f"  {m['name']}")
    print("\nJobs:" + ("" if summary["jobs"] else " none"))
    for j in summary["jobs"]:
        print(
            f"  {j['id'][:8]}  {j['kind']:<8} {j['status']:<11} {j['created_at']}"
            + (f"  {one_line(j['message'])}" if j["status"] != "done" and j["message"] else "")
        )


def _made_by(prov: dict) -> str:
    job = prov.get("job_id")
    return (
        f"{prov.get('operation', '?')} by emstudio {prov.get('emstudio_version', '?')} "
        f"on {prov.get('created_at', '?')}" + (f", job {job[:8]}" if job else "")
    )
