// Shared set-up for the window tests: a MainWindow on the fake runner with temporary folders.
#pragma once

#include <QApplication>
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <catch2/catch_tostring.hpp>

#include <functional>
#include <memory>

#include "tests/ui/fake_runner.h"
#include "ui/main_window.h"
#include "ui/settings.h"

template <>
struct Catch::StringMaker<QString> {
    static std::string convert(const QString& s) { return '"' + s.toStdString() + '"'; }
};

namespace sf::test {

/// A window with its own output and models folders, shown (offscreen or Xvfb).
struct WindowFixture {
    QTemporaryDir dir;
    std::shared_ptr<FakeRunnerState> state = std::make_shared<FakeRunnerState>();
    std::unique_ptr<sf::ui::MainWindow> window;

    explicit WindowFixture(int stepMs = 20) {
        state->stepMs = stepMs;
        sf::ui::Settings settings;
        settings.outputFolder = dir.filePath(QStringLiteral("out"));
        settings.modelsFolder = dir.filePath(QStringLiteral("models"));
        window = std::make_unique<sf::ui::MainWindow>(makeFakeRunner(state), settings);
        window->show();
    }
};

/// Spins the event loop until `done` or `ms` pass; true when done.
inline bool waitFor(const std::function<bool()>& done, int ms = 10000) { return QTest::qWaitFor(done, ms); }

/// The longest gap between two runs of a 0-ms timer: how long the UI thread was busy at a stretch.
class EventLoopGapMeter {
public:
    EventLoopGapMeter() {
        QObject::connect(&m_timer, &QTimer::timeout, [this] {
            m_max = std::max(m_max, m_clock.nsecsElapsed() / 1e6);
            m_clock.restart();
        });
        m_timer.start(0);
        m_clock.start();
    }
    double maxGapMs() const { return m_max; }

private:
    QTimer m_timer;
    QElapsedTimer m_clock;
    double m_max = 0;
};

}  // namespace sf::test
