#include "ui/grid_plan.h"

#include <QMap>

#include "core/request.h"
#include "ui/qt_convert.h"

namespace sf::ui {

QString gridAxisName(GridAxis axis) {
    switch (axis) {
        case GridAxis::Seed: return QStringLiteral("Seed");
        case GridAxis::Guidance: return QStringLiteral("Guidance");
        case GridAxis::Steps: return QStringLiteral("Steps");
        case GridAxis::Sampler: return QStringLiteral("Sampler");
        case GridAxis::Strength: return QStringLiteral("Strength");
        case GridAxis::PromptSR: return QStringLiteral("Prompt S/R");
    }
    return {};
}

QList<GridAxis> gridAxes() {
    return {GridAxis::Seed, GridAxis::Guidance, GridAxis::Steps, GridAxis::Sampler, GridAxis::Strength,
            GridAxis::PromptSR};
}

GenerationParams applyGridAxis(GenerationParams p, GridAxis axis, const QString& value, const QString& first) {
    const QString v = value.trimmed();
    switch (axis) {
        case GridAxis::Seed: p.seed = v.toLongLong(); break;
        case GridAxis::Guidance: p.cfgScale = v.toDouble(); break;
        case GridAxis::Steps: p.steps = v.toInt(); break;
        case GridAxis::Sampler: p.sampler = v; break;
        case GridAxis::Strength: p.strength = v.toDouble(); break;
        case GridAxis::PromptSR: p.prompt.replace(first.trimmed(), v); break;
    }
    return p;
}

QString gridCellKey(const GenerationParams& p) {
    QString key = parametersText(p);
    key += QStringLiteral("\n%1|%2|%3|%4").arg(p.model, p.device, p.dtype, p.fit);
    if (p.isImg2Img()) {
        key += QStringLiteral("|init:%1|%2").arg(p.initImage.cacheKey()).arg(p.strength);
    }
    return key;
}

QList<GridCell> planGrid(const GenerationParams& base, const GridSpec& spec) {
    GenerationParams one = base;
    one.batchSize = 1;
    one.batchCount = 1;
    one.seeds.clear();
    one.cfgScales.clear();
    const QStringList xs = spec.xValues.isEmpty() ? QStringList{QString()} : spec.xValues;
    const QStringList ys = spec.yValues.isEmpty() ? QStringList{QString()} : spec.yValues;
    QList<GridCell> cells;
    for (int r = 0; r < ys.size(); ++r) {
        for (int c = 0; c < xs.size(); ++c) {
            GenerationParams p = one;
            if (!spec.yValues.isEmpty()) {
                p = applyGridAxis(p, spec.yAxis, ys[r], ys[0]);
            }
            if (!spec.xValues.isEmpty()) {
                p = applyGridAxis(p, spec.xAxis, xs[c], xs[0]);
            }
            cells.append({r, c, p, gridCellKey(p)});
        }
    }
    return cells;
}

QList<GridBatch> batchGrid(const QList<GridCell>& cells, const QSet<QString>& done) {
    QList<GridBatch> batches;
    QMap<QString, int> open;  // params without seed/guidance -> the batch still filling
    QSet<QString> queued;
    for (int i = 0; i < cells.size(); ++i) {
        const GridCell& cell = cells[i];
        if (done.contains(cell.key) || queued.contains(cell.key)) {
            continue;
        }
        queued.insert(cell.key);
        GenerationParams shared = cell.params;
        shared.seed = 0;
        shared.cfgScale = 0;
        const QString group = gridCellKey(shared);
        auto it = open.find(group);
        if (it != open.end() && batches[*it].cells.size() >= sf::default_grid_batch(cell.params.width,
                                                                                    cell.params.height)) {
            open.erase(it);  // full: cells that differ only in seed and guidance go on in a new batch
            it = open.end();
        }
        if (it == open.end()) {
            GridBatch batch;
            batch.params = cell.params;
            it = open.insert(group, static_cast<int>(batches.size()));
            batches.append(batch);
        }
        GridBatch& batch = batches[*it];
        batch.params.seeds.append(cell.params.seed);
        batch.params.cfgScales.append(cell.params.cfgScale);
        batch.params.batchSize = static_cast<int>(batch.params.seeds.size());
        batch.cells.append(i);
    }
    return batches;
}

}  // namespace sf::ui
