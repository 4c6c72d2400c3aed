"""The columns of the ventas domain's input files, and the types they are read as."""

from collections.abc import Mapping

import pyarrow as pa

VENTAS_COLUMNS: Mapping[str, pa.DataType] = {
    "fecha": pa.date32(),
    "producto": pa.string(),
    "categoria": pa.string(),
    "precio": pa.float64(),
    # Read as a number of any kind: the asset check, not the parser, judges
    # whether every quantity is a whole number.
    "cantidad": pa.float64(),
    "usuario_id": pa.int64(),
}
USUARIOS_COLUMNS: Mapping[str, pa.DataType] = {
    "usuario_id": pa.int64(),
    "nombre": pa.string(),
    "ciudad": pa.string(),
    "segmento": pa.string(),
}
