"""The main window: where the app runs, a 100,000-row table, and a button that sorts it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer, qVersion
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from .environment import Environment
from .table_model import ItemTableModel


def _yes_no(value: object) -> str:
    return str(value) if value else "no"


class MainWindow(QMainWindow):
    """Calls ``on_first_frame`` once, after the first paint has reached the window system."""

    def __init__(self, env: Environment, on_first_frame: Callable[[], None] | None = None) -> None:
        super().__init__()
        self._on_first_frame = on_first_frame
        self._painted = False
        self.setWindowTitle("shipbench app_gui")
        self.resize(720, 520)

        facts = QGroupBox("Where this app is running")
        form = QFormLayout(facts)
        for label, value in (
            ("Python", env.python),
            ("Executable", env.executable),
            ("OS", f"{env.os} ({env.arch})"),
            ("Qt", qVersion()),
            ("Frozen (sys.frozen)", "yes" if env.frozen else "no"),
            ("Container", _yes_no(env.container)),
            ("Virtual machine", _yes_no(env.vm)),
        ):
            value_label = QLabel(value)
            value_label.setObjectName(f"fact:{label}")
            value_label.setToolTip(value)
            # a long path must not widen the window: the same window everywhere makes screenshots comparable
            value_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            form.addRow(f"{label}:", value_label)

        self.model = ItemTableModel()
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)

        self.sort_button = QPushButton("Sort by value")
        self.sort_button.clicked.connect(self._sort)
        self.status = QLabel(f"{self.model.rowCount():,} rows, unsorted")

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(facts)
        layout.addWidget(self.table, stretch=1)
        layout.addWidget(self.sort_button)
        layout.addWidget(self.status)
        self.setCentralWidget(central)

    def _sort(self) -> None:
        descending = self.model.toggle_sort_by_value()
        direction = "descending" if descending else "ascending"
        self.status.setText(f"{self.model.rowCount():,} rows, sorted by value ({direction})")
        self.sort_button.setText("Sort ascending" if descending else "Sort descending")

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            # The backing store is flushed to the window system after this paint pass returns; a zero timer
            # fires once the event loop is idle again, i.e. after the frame has really been presented.
            if self._on_first_frame is not None:
                QTimer.singleShot(0, self._on_first_frame)
