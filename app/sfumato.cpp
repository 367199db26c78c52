// sfumato: the desktop app's entry point.
#include <QApplication>

#include "core/device.h"
#include "ui/main_window.h"

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName("Sfumato");
    QApplication::setOrganizationName("Sfumato");
    sf::init_threads();
    sf::ui::MainWindow window;
    window.show();
    return QApplication::exec();
}
