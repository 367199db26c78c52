// sfumato_ui_tests start-up: one QApplication for the whole run (offscreen unless a display is set), then Catch2.
#include <QApplication>

#include <catch2/catch_session.hpp>

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") && qEnvironmentVariableIsEmpty("DISPLAY") &&
        qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY")) {
        qputenv("QT_QPA_PLATFORM", "offscreen");
    }
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("sfumato_ui_tests"));
    return Catch::Session().run(argc, argv);
}
