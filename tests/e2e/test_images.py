"""The images Compose builds carry what their processes load, and not the rest: no Kubernetes
client (the Helm chart's images are built with `--build-arg EXTRAS=kubernetes`, as
tests/e2e/test_kubernetes_pods.py does), none of pyarrow's parts that nothing loads, no symbol
tables in the environment's shared objects (deploy/slim-venv, which also imports every
extension module left when the image is built)."""

import json

import pytest

from tests.e2e.compose_stack import docker

IMAGES = ("user_code", "informes", "plataforma", "dagster")
# Run in each image: what of the above it still has.
LEFT = r"""
import importlib.util, json, pathlib, struct, sys

def sections(path):
    # An ELF file's section names: its 64-bit little-endian header, its section headers, and
    # the section that holds their names.
    data = path.read_bytes()
    if data[:5] != b"\x7fELF\x02":
        return
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    header = lambda i: struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
    names_at = header(shstrndx)[4]
    for i in range(shnum):
        start = names_at + header(i)[0]
        yield data[start:data.index(b"\0", start)].decode()

site = pathlib.Path(sys.prefix, "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}",
                    "site-packages")
left = [m for m in ("kubernetes", "dagster_k8s", "google.auth") if importlib.util.find_spec(m)]
left += [str(p) for p in (site / "pyarrow").glob("*flight*")]
left += [str(p) for p in (site / "pyarrow").glob("include")]
left += [
    str(p) for p in site.rglob("*.so*")
    if p.is_file() and not p.is_symlink()
    and not any(part.endswith(".libs") for part in p.relative_to(site).parts)
    and ".symtab" in sections(p)
]
print(json.dumps(left))
"""


@pytest.mark.parametrize("image", IMAGES)
def test_an_image_for_compose_leaves_out_what_no_process_loads(stack, image):
    tag = f"{stack.project}-{image}"
    left = json.loads(docker("run", "--rm", "--entrypoint", "python", tag, "-c", LEFT).stdout)
    assert left == []
