"""Generate a realistic sales CSV: fecha, producto, categoria, precio, cantidad, usuario_id.

    python bench/generate_ventas.py --rows 2000 --null-share 0.01 --out data/ventas.csv
    python bench/generate_ventas.py --rows 10000000 --out /tmp/ventas_10m.csv
    python bench/generate_ventas.py --usuarios-out data/usuarios.csv   # the 200 customers

The output is deterministic for a given --seed. Rows are written in chunks, so
memory stays flat whatever --rows is.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from datetime import date, timedelta
from pathlib import Path

# category -> [(product, typical unit price in euros)]
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
}
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
NULLABLE = ["fecha", "producto", "categoria", "precio", "cantidad", "usuario_id"]
CHUNK = 50_000


def generate(
    rows: int,
    out,
    *,
    seed: int = 42,
    null_share: float = 0.0,
    start: date = date(2024, 1, 1),
    days: int = 366,
    usuarios: int = 200,
) -> None:
    """Write `rows` sales rows as CSV to the text stream `out`."""
    rng = random.Random(seed)
    productos = [(cat, prod, precio) for cat, items in CATALOGO.items() for prod, precio in items]
    fechas = [(start + timedelta(days=d)).isoformat() for d in range(days)]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNAS)
    done = 0
    while done < rows:
        batch = []
        for _ in range(min(CHUNK, rows - done)):
            categoria, producto, base = rng.choice(productos)
            # Prices move around the typical price (offers, regional differences).
            precio = round(base * rng.uniform(0.85, 1.15), 2)
            cantidad = min(1 + int(rng.expovariate(0.6)), 20)
            row = [
                rng.choice(fechas),
                producto,
                categoria,
                f"{precio:.2f}",
                cantidad,
                rng.randint(1, usuarios),
            ]
            if null_share and rng.random() < null_share:
                row[COLUMNAS.index(rng.choice(NULLABLE))] = ""
            batch.append(row)
        writer.writerows(batch)
        done += len(batch)


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
    parser.add_argument(
        "--null-share",
        type=float,
        default=0.0,
        help="share of rows with one empty field (default 0)",
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
    if args.out is None:
        generate(args.rows, sys.stdout, seed=args.seed, null_share=args.null_share)
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8", newline="") as out:
        generate(args.rows, out, seed=args.seed, null_share=args.null_share)


if __name__ == "__main__":
    main()
