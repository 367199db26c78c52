// Saves the main window mid-generation as a PNG (run under xvfb-run by the ui_screenshot CTest test).
#include <QDir>
#include <QSignalSpy>

#include <catch2/catch_test_macros.hpp>

#include <iostream>

#include "tests/ui/window_fixture.h"
#include "ui/generation_controller.h"
#include "ui/image_view.h"
#include "ui/prompt_panel.h"

TEST_CASE("screenshot of the main window mid-generation", "[.][screenshot][ui]") {
    sf::test::WindowFixture f(60);
    auto& w = *f.window;
    auto p = w.promptPanel()->params();
    p.steps = 30;
    w.promptPanel()->setParams(p);
    REQUIRE(QTest::qWaitForWindowExposed(&w));
    QSignalSpy progressed(w.controller(), &sf::ui::GenerationController::progressed);
    w.generate();
    w.generate();  // something in the queue
    REQUIRE(sf::test::waitFor([&] { return progressed.count() >= 8; }));
    QTest::qWait(30);
    const QImage shot = w.grab().toImage();
    REQUIRE_FALSE(shot.isNull());
    const QString dir = qEnvironmentVariableIsEmpty("SFUMATO_SCREENSHOT_DIR") ? QDir::currentPath()
                                                                              : qEnvironmentVariable("SFUMATO_SCREENSHOT_DIR");
    const QString path = QDir(dir).filePath(QStringLiteral("sfumato_ui_screenshot.png"));
    REQUIRE(shot.save(path));
    std::cout << "[ui] screenshot (" << QGuiApplication::platformName().toStdString() << ") saved to "
              << path.toStdString() << "\n";
    CHECK(w.imageView()->isPreview());
    w.controller()->cancelAll();
}
