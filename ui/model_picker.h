// Model chooser: the embedded default model plus every .safetensors file and diffusers folder in the models
// folder, with a family column read from each file's header off the UI thread (ui/model_info.h).
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
    /// The file the "Default (embedded)" entry stands for; empty: it is not installed.
    void setDefaultModel(const QString& path);
    /// The selected model's path (empty: the embedded default).
    QString currentModel() const;
    /// The file behind the selection (the default model's file for the default entry; empty when missing).
    QString currentModelFile() const;
    /// Selects `path` (adds it when it is not in the folder); empty selects the default.
    void setCurrentModel(const QString& path);
    /// The family shown for the selection (FamilyInfo::name; "…" while it is read, "?" when unreadable).
    QString currentFamily() const;
    /// The selected model's default picture size (512 until its header has been read).
    int currentDefaultSize() const;
    /// Number of entries, the default included.
    int count() const;

Q_SIGNALS:
    /// The selection changed, or its family became known.
    void modelChanged(const QString& path, const QString& family);

private:
    void addEntry(const QString& name, const QString& path, const QString& file);
    void inspect(const QString& file);

    QString m_folder;
    QString m_defaultModel;
    bool m_defaultKnown = false;  // setDefaultModel was called
    QComboBox* m_combo = nullptr;
    QStandardItemModel* m_model = nullptr;
};

}  // namespace sf::ui
