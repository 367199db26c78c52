// Model chooser: the embedded default model plus every .safetensors file and diffusers folder in the models
// folder, with a family column ("?" until detection is wired in).
#pragma once

#include <QString>
#include <QWidget>

class QComboBox;
class QStandardItemModel;

namespace sf::ui {

class ModelPicker : public QWidget {
    Q_OBJECT
public:
    explicit ModelPicker(QWidget* parent = nullptr);

    /// Scans `folder` (not recursive below one level) and refills the list, keeping the selection if present.
    void setFolder(const QString& folder);
    void rescan();
    /// The selected model's path (empty: the embedded default).
    QString currentModel() const;
    /// Selects `path` (adds it when it is not in the folder); empty selects the default.
    void setCurrentModel(const QString& path);
    /// The family shown for the selection ("SD1.x" for the default, "?" for unknown files).
    QString currentFamily() const;
    /// Number of entries, the default included.
    int count() const;

Q_SIGNALS:
    void modelChanged(const QString& path, const QString& family);

private:
    void addEntry(const QString& name, const QString& path, const QString& family);

    QString m_folder;
    QComboBox* m_combo = nullptr;
    QStandardItemModel* m_model = nullptr;
};

}  // namespace sf::ui
