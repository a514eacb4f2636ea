import numpy as np

from model.images.components import components


def flood_fill_labels(mask: np.ndarray) -> list[set[tuple[int, int]]]:
    """The components by the textbook method, one pixel at a time: the reference."""
    seen, found = np.zeros_like(mask), []
    for start in zip(*np.nonzero(mask), strict=True):
        if seen[start]:
            continue
        todo, part = [start], set()
        seen[start] = True
        while todo:
            y, x = todo.pop()
            part.add((int(y), int(x)))
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = y + dy, x + dx
                    inside = 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1]
                    if inside and mask[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        todo.append((ny, nx))
        found.append(part)
    return found


def test_corners_join_and_gaps_separate() -> None:
    mask = np.zeros((6, 8), dtype=bool)
    mask[1, 1] = mask[2, 2] = mask[3, 3] = True  # a diagonal: joined by corners
    mask[1:5, 6] = True  # a bar two columns away
    comps = components(mask)
    assert comps.count == 2
    assert comps.boxes.tolist() == [[1, 1, 4, 4], [6, 1, 7, 5]]
    assert comps.areas.tolist() == [3, 4]
    assert comps.labels[2, 2] == 1 and comps.labels[4, 6] == 2 and comps.labels[0, 0] == 0


def test_same_components_as_a_flood_fill_on_random_masks() -> None:
    rng = np.random.default_rng(0)
    for density in (0.2, 0.45, 0.6):
        mask = rng.random((40, 50)) < density
        comps = components(mask)
        got = [set(zip(*np.nonzero(comps.labels == k + 1), strict=True)) for k in range(comps.count)]
        assert sorted(map(sorted, got)) == sorted(map(sorted, flood_fill_labels(mask)))
        assert comps.areas.sum() == mask.sum()


def test_a_u_shape_is_one_component_though_its_arms_meet_late() -> None:
    mask = np.zeros((10, 10), dtype=bool)
    mask[0:9, 1] = mask[0:9, 8] = mask[9, 1:9] = True
    assert components(mask).count == 1


def test_blank() -> None:
    comps = components(np.zeros((5, 5), dtype=bool))
    assert comps.count == 0 and comps.boxes.shape == (0, 4) and not comps.labels.any()
