#include "ui/main_window.h"

#include <QLabel>

namespace sf::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setWindowTitle("Sfumato");
    auto* label = new QLabel(tr("Sfumato"), this);
    label->setAlignment(Qt::AlignCenter);
    setCentralWidget(label);
    resize(1100, 760);
}

}  // namespace sf::ui
