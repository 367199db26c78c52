// sfumato: the desktop app's entry point.
#include <QApplication>
#include <QSettings>

#include "app/default_model.h"
#include "app/pipeline_runner.h"
#include "core/device.h"
#include "ui/main_window.h"
#include "ui/settings.h"

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName("Sfumato");
    QApplication::setOrganizationName("Sfumato");
    sf::init_runtime();
    QSettings store;
    const sf::ui::Settings settings = sf::ui::Settings::load(store);
    sf::ui::MainWindow window(sf::make_pipeline_runner(), settings);
    QString defaultModel;
    try {
        defaultModel = QString::fromStdString(sf::cli::find_default_model().string());
    } catch (const std::exception&) {
        // Not installed: the window says so in its banner (and generating asks for another model).
    }
    window.setDefaultModel(defaultModel);
    window.show();
    const int rc = QApplication::exec();
    window.settings().save(store);
    return rc;
}
