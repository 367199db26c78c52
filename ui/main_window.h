// The main window: prompt, parameters, result view (placeholder until the app issue).
#pragma once

#include <QMainWindow>

namespace sf::ui {

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
};

}  // namespace sf::ui
