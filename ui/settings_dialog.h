// Preferences: models and output folders, device (CPU / CUDA n), precision, preview mode.
#pragma once

#include <QDialog>

#include "ui/settings.h"

class QComboBox;
class QLineEdit;

namespace sf::ui {

class SettingsDialog : public QDialog {
    Q_OBJECT
public:
    /// `cudaDevices`: how many CUDA devices to offer.
    explicit SettingsDialog(const Settings& settings, int cudaDevices, QWidget* parent = nullptr);

    /// `base` with the dialog's values.
    Settings settings(const Settings& base) const;

private:
    QLineEdit* m_models = nullptr;
    QLineEdit* m_output = nullptr;
    QComboBox* m_device = nullptr;
    QComboBox* m_precision = nullptr;
    QComboBox* m_preview = nullptr;
    QLineEdit* m_taesd = nullptr;
    QLineEdit* m_taesdxl = nullptr;
};

}  // namespace sf::ui
