"""Generate a realistic sales CSV: fecha, producto, categoria, precio, cantidad, usuario_id.

    python -m bench.generate_ventas --rows 10000000 --out /tmp/ventas_10m.csv
    python -m bench.generate_ventas --rows 2000 --products 29 --categories 6 --customers 200 \\
        --null-share 0.001 --skew 0 --days 366 --out /tmp/ventas_old.csv   # the old small mix
    python -m bench.generate_ventas --usuarios-out data/usuarios.csv       # the 200 customers

The default is the mix the benchmarks use: about 500 products in 12 categories, a few of
them selling most (Zipf-like popularity), each sold at a handful of prices around its own
typical price; mostly small whole quantities; 100,000 customers; dates over two years; 1 %
of rows with one empty field. Names are Spanish, accents included, built from a base
catalogue and its variants ("Portátil 14 pulgadas", "Café molido eco").

The file is always the same for a --seed. It is made with numpy and written with pyarrow in
chunks of a million rows, so memory stays flat whatever --rows is (10M rows: seconds).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from datetime import date
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

# category -> [(product, typical unit price in euros)]. The first six categories, with their
# 29 products, are the catalogue of the sample data/ventas.csv.
CATALOGO: dict[str, list[tuple[str, float]]] = {
    "Electrónica": [
        ("Portátil", 899.0),
        ("Teléfono móvil", 459.0),
        ("Auriculares inalámbricos", 79.9),
        ("Tableta", 329.0),
        ("Monitor 27 pulgadas", 219.0),
        ("Ratón ergonómico", 34.5),
    ],
    "Hogar": [
        ("Sartén antiadherente", 29.95),
        ("Lámpara de pie", 64.0),
        ("Cafetera espresso", 149.0),
        ("Edredón nórdico", 59.9),
        ("Juego de toallas", 24.5),
    ],
    "Alimentación": [
        ("Aceite de oliva virgen extra", 9.75),
        ("Café molido", 4.6),
        ("Jamón serrano", 18.9),
        ("Turrón de Jijona", 7.25),
        ("Queso manchego", 12.4),
    ],
    "Ropa": [
        ("Camisa de algodón", 27.99),
        ("Pantalón vaquero", 39.95),
        ("Zapatillas deportivas", 69.0),
        ("Chaqueta impermeable", 89.0),
        ("Bufanda de lana", 15.5),
    ],
    "Deportes": [
        ("Balón de fútbol", 22.0),
        ("Raqueta de pádel", 95.0),
        ("Bicicleta estática", 249.0),
        ("Esterilla de yoga", 19.9),
    ],
    "Papelería": [
        ("Cuaderno A4", 3.2),
        ("Bolígrafos (pack de 10)", 5.5),
        ("Agenda 2024", 12.0),
        ("Mochila escolar", 32.0),
    ],
    "Informática": [
        ("Disco SSD 1 TB", 74.9),
        ("Teclado mecánico", 59.0),
        ("Impresora multifunción", 129.0),
        ("Memoria USB 64 GB", 9.9),
        ("Router wifi", 49.0),
    ],
    "Jardín": [
        ("Cortacésped eléctrico", 159.0),
        ("Manguera extensible", 27.5),
        ("Tumbona plegable", 45.0),
        ("Maceta de cerámica", 12.9),
    ],
    "Juguetes": [
        ("Puzle de 1000 piezas", 14.95),
        ("Muñeca articulada", 24.9),
        ("Coche teledirigido", 39.9),
        ("Juego de construcción", 49.99),
    ],
    "Belleza y cuidado personal": [
        ("Crema hidratante", 11.5),
        ("Secador de pelo", 34.9),
        ("Perfume de azahar", 42.0),
        ("Cepillo de dientes eléctrico", 29.0),
    ],
    "Librería": [
        ("Novela de bolsillo", 9.45),
        ("Guía de viaje de Andalucía", 18.5),
        ("Cómic de aventuras", 15.0),
        ("Diccionario de español", 24.0),
    ],
    "Mascotas": [
        ("Pienso para perros 12 kg", 38.9),
        ("Arena para gatos", 8.75),
        ("Cama acolchada", 29.9),
        ("Correa extensible", 16.5),
    ],
    "Bricolaje": [
        ("Taladro percutor", 89.0),
        ("Caja de herramientas", 34.0),
        ("Pintura plástica blanca 15 l", 42.5),
        ("Escalera de aluminio", 69.9),
    ],
    "Óptica y salud": [
        ("Gafas de sol polarizadas", 59.0),
        ("Tensiómetro de brazo", 36.9),
        ("Termómetro digital", 12.5),
    ],
}
# What turns a base product into another one, and how it moves its typical price.
VARIANTES: list[tuple[str, float]] = [
    ("", 1.0),
    (" color negro", 1.0),
    (" color blanco", 1.0),
    (" Pro", 1.45),
    (" mini", 0.7),
    (" (pack de 2)", 1.85),
    (" de segunda mano", 0.72),
    (" eco", 1.2),
    (" edición limitada", 1.6),
    (" color azul marino", 1.0),
    (" de viaje", 0.85),
    (" gama básica", 0.8),
    (" XL", 1.25),
    (" color gris perla", 1.05),
    (" 2.ª generación", 1.15),
    (" de diseño", 1.5),
]
# A category beyond the base catalogue is a base category again, for another public.
SUBCATEGORIAS = ["", " outlet", " profesional", " infantil", " de segunda mano", " premium"]
PRICE_POINTS = 8  # prices at which each product sells: its typical price, offers, regions
NOMBRES = [
    "Lucía",
    "Hugo",
    "Martina",
    "Mateo",
    "Sofía",
    "Martín",
    "María",
    "Pablo",
    "Julia",
    "Álvaro",
    "Paula",
    "Leo",
    "Valeria",
    "Daniel",
    "Emma",
    "Alejandro",
    "Noa",
    "Adrián",
    "Carmen",
    "Íñigo",
    "Irene",
    "Jesús",
    "Nuria",
    "Óscar",
]
APELLIDOS = [
    "García",
    "Rodríguez",
    "González",
    "Fernández",
    "López",
    "Martínez",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Martín",
    "Jiménez",
    "Ruiz",
    "Hernández",
    "Díaz",
    "Muñoz",
    "Álvarez",
    "Romero",
    "Navarro",
    "Torres",
    "Domínguez",
    "Vázquez",
    "Gil",
    "Núñez",
]
CIUDADES = [
    "Madrid",
    "Barcelona",
    "Valencia",
    "Sevilla",
    "Zaragoza",
    "Málaga",
    "Bilbao",
    "Alicante",
    "Córdoba",
    "Valladolid",
    "Vigo",
    "Gijón",
    "A Coruña",
    "Cádiz",
    "León",
]
SEGMENTOS = ["Particular", "Particular", "Particular", "Autónomo", "Empresa"]
COLUMNAS = ["fecha", "producto", "categoria", "precio", "cantidad", "usuario_id"]
CHUNK = 1_000_000
EPOCH = date(1970, 1, 1)


def catalogue(products: int, categories: int) -> list[tuple[str, str, float]]:
    """`products` distinct (categoria, producto, typical price), spread over `categories`:
    every base product of each category first, then their variants."""
    bases = list(CATALOGO.items())
    categories = max(1, min(categories, products))
    chosen = []
    for c in range(categories):
        name, items = bases[c % len(bases)]
        again = c // len(bases)
        name += SUBCATEGORIAS[again] if again < len(SUBCATEGORIAS) else f" {again + 1}"
        chosen.append((name, items))
    found: list[tuple[str, str, float]] = []
    variant = 0
    while len(found) < products:
        suffix, factor = VARIANTES[variant % len(VARIANTES)]
        if variant >= len(VARIANTES):
            suffix += f" modelo {variant // len(VARIANTES) + 1}"
        for j in range(max(len(items) for _, items in chosen)):
            for categoria, items in chosen:
                if j < len(items) and len(found) < products:
                    producto, price = items[j]
                    found.append((categoria, producto + suffix, round(price * factor, 2)))
        variant += 1
    return found


def generate(
    rows: int,
    out: BinaryIO,
    *,
    seed: int = 42,
    products: int = 500,
    categories: int = 12,
    customers: int = 100_000,
    null_share: float = 0.01,
    start: date = date(2024, 1, 1),
    days: int = 731,
    skew: float = 1.0,
) -> None:
    """Write `rows` sales rows as CSV (UTF-8) to the binary stream `out`.

    `skew` is the exponent of the products' Zipf-like popularity: the product ranked k sells
    in proportion to 1 / k**skew (0: every product alike)."""
    rng = np.random.default_rng(seed)
    items = catalogue(products, categories)
    categoria_names = list(dict.fromkeys(categoria for categoria, _, _ in items))
    producto = pa.array([p for _, p, _ in items])
    categoria = pa.array(categoria_names)
    categoria_of = np.array([categoria_names.index(c) for c, _, _ in items])
    # Popularity by rank, the ranks dealt at random so that best-sellers are in every category.
    popularity = 1 / np.arange(1, len(items) + 1, dtype=float) ** skew
    popularity = popularity[rng.permutation(len(items))]
    products_cdf = np.cumsum(popularity) / popularity.sum()
    # Each product sells at PRICE_POINTS prices: mostly its typical one, otherwise within
    # about 10 % of it. Written as text once, with two decimals, and picked per row.
    typical = np.array([price for _, _, price in items])
    factors = np.clip(rng.normal(1.0, 0.07, (len(items), PRICE_POINTS)), 0.75, 1.3)
    factors[:, 0] = 1.0
    cents = np.maximum(np.rint(typical[:, None] * factors * 100).astype(np.int64), 1)
    precio = pa.array([f"{c // 100}.{c % 100:02d}" for c in cents.ravel()])
    points = 0.5 ** np.arange(PRICE_POINTS) + 0.5
    points_cdf = np.cumsum(points) / points.sum()
    first_day = (start - EPOCH).days

    out.write((",".join(COLUMNAS) + "\n").encode())
    schema = pa.schema(
        [
            ("fecha", pa.date32()),
            ("producto", pa.string()),
            ("categoria", pa.string()),
            ("precio", pa.string()),
            ("cantidad", pa.int64()),
            ("usuario_id", pa.int64()),
        ]
    )
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    with pacsv.CSVWriter(out, schema, write_options=options) as writer:
        done = 0
        while done < rows:
            n = min(CHUNK, rows - done)
            product = np.minimum(np.searchsorted(products_cdf, rng.random(n)), len(items) - 1)
            point = np.minimum(np.searchsorted(points_cdf, rng.random(n)), PRICE_POINTS - 1)
            fecha = (first_day + rng.integers(0, days, n)).astype(np.int32)
            cantidad = np.minimum(rng.geometric(0.45, n), 20)
            usuario_id = rng.integers(1, customers + 1, n)
            # One empty field in a `null_share` of the rows, in any column.
            empty = np.full(n, -1)
            chosen = rng.random(n) < null_share
            empty[chosen] = rng.integers(0, len(COLUMNAS), int(chosen.sum()))
            masks = [empty == i for i in range(len(COLUMNAS))]
            columns = [
                pa.array(fecha, pa.int32(), mask=masks[0]).cast(pa.date32()),
                pc.take(producto, pa.array(product, mask=masks[1])),
                pc.take(categoria, pa.array(categoria_of[product], mask=masks[2])),
                pc.take(precio, pa.array(product * PRICE_POINTS + point, mask=masks[3])),
                pa.array(cantidad, pa.int64(), mask=masks[4]),
                pa.array(usuario_id, pa.int64(), mask=masks[5]),
            ]
            writer.write_batch(pa.record_batch(columns, schema=schema))
            done += n


def generate_usuarios(count: int, out, *, seed: int = 7) -> None:
    """Write `count` customers (usuario_id 1..count) as CSV to the text stream `out`."""
    rng = random.Random(seed)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["usuario_id", "nombre", "ciudad", "segmento"])
    for usuario_id in range(1, count + 1):
        nombre = f"{rng.choice(NOMBRES)} {rng.choice(APELLIDOS)} {rng.choice(APELLIDOS)}"
        writer.writerow([usuario_id, nombre, rng.choice(CIUDADES), rng.choice(SEGMENTOS)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--categories", type=int, default=12)
    parser.add_argument("--customers", type=int, default=100_000, help="usuario_id 1..N")
    parser.add_argument(
        "--null-share", type=float, default=0.01, help="share of rows with one empty field"
    )
    parser.add_argument(
        "--start", type=date.fromisoformat, default=date(2024, 1, 1), help="first day"
    )
    parser.add_argument("--days", type=int, default=731, help="days of sales from --start")
    parser.add_argument(
        "--skew",
        type=float,
        default=1.0,
        help="Zipf exponent of product popularity (0: every product sells alike)",
    )
    parser.add_argument("--out", type=Path, help="output file (default: standard output)")
    parser.add_argument(
        "--usuarios-out",
        type=Path,
        help="write the customers file (usuario_id 1..200) here instead",
    )
    args = parser.parse_args(argv)
    if args.usuarios_out:
        with args.usuarios_out.open("w", encoding="utf-8", newline="") as out:
            generate_usuarios(200, out)
        return

    def write(out: BinaryIO) -> None:
        generate(
            args.rows,
            out,
            seed=args.seed,
            products=args.products,
            categories=args.categories,
            customers=args.customers,
            null_share=args.null_share,
            start=args.start,
            days=args.days,
            skew=args.skew,
        )

    if args.out is None:
        write(sys.stdout.buffer)
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("wb") as out:
        write(out)


if __name__ == "__main__":
    main()
