"""Write examples/house_prices.csv: the first tutorial's motivating example (price from area, location, rooms).

The data is synthetic, and says how: price = area x a price per m² that depends on the location, plus
a premium per room, plus noise; a few values are missing, as in real listings. Use it to learn the
regression workflow; the numbers mean nothing about any real market.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

PRICE_PER_M2 = {"city-centre": 9000.0, "suburb": 5500.0, "riverside": 7000.0, "countryside": 3000.0}


def main(path: Path = Path(__file__).with_name("house_prices.csv"), rows: int = 400, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    locations = list(PRICE_PER_M2)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["area_m2", "location", "rooms", "price"])
        for _ in range(rows):
            location = locations[int(rng.integers(len(locations)))]
            rooms = int(rng.integers(1, 6))
            area = float(np.clip(rng.normal(25 + 18 * rooms, 12), 20, 250))
            price = area * PRICE_PER_M2[location] + 15000 * rooms + rng.normal(0, 25000)
            cells: list[object] = [round(area, 1), location, rooms, round(price, -2)]
            if rng.random() < 0.03:
                cells[int(rng.integers(3))] = ""  # a missing area, location or room count
            writer.writerow(cells)


if __name__ == "__main__":
    main()
