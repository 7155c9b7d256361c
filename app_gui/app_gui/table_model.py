"""A table model that computes its rows on demand, so 100,000 rows cost nothing until they are painted."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

_HEADERS = ("#", "Item", "Value", "Category")
_CATEGORIES = ("alpha", "beta", "gamma", "delta", "epsilon")
_Index = QModelIndex | QPersistentModelIndex


def value_of(row: int) -> int:
    """A deterministic pseudo-random value per row (a 32-bit multiplicative hash)."""
    return (row * 2654435761) % 100_000


class ItemTableModel(QAbstractTableModel):
    def __init__(self, rows: int = 100_000) -> None:
        super().__init__()
        self._order = list(range(rows))
        self.descending: bool | None = None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's own signature
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(_HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        row = self._order[index.row()]
        return (row + 1, f"item-{row:06d}", value_of(row), _CATEGORIES[row % len(_CATEGORIES)])[index.column()]

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return _HEADERS[section]
        return None

    def toggle_sort_by_value(self) -> bool:
        """Sort rows by value, flipping the direction on each call; returns True when now descending."""
        self.descending = not self.descending
        self.layoutAboutToBeChanged.emit()
        self._order.sort(key=value_of, reverse=self.descending)
        self.layoutChanged.emit()
        return self.descending
