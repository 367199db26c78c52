// The comparison grid: seeds x guidance, one request per row, cached cells, export, click to restore.
#include <QCryptographicHash>
#include <QSet>
#include <QSignalSpy>

#include <catch2/catch_test_macros.hpp>

#include "tests/ui/window_fixture.h"
#include "ui/generation_controller.h"
#include "ui/grid_panel.h"
#include "ui/grid_plan.h"
#include "ui/prompt_panel.h"

using sf::test::waitFor;
using sf::test::WindowFixture;
using sf::ui::GridAxis;

TEST_CASE("grid plan: a seeds x guidance grid goes as one request, split at the batch limit; cached cells are skipped", "[ui][unit]") {
    sf::ui::GenerationParams base;
    base.prompt = QStringLiteral("a cat");
    sf::ui::GridSpec spec{GridAxis::Seed, {QStringLiteral("1"), QStringLiteral("2")}, GridAxis::Guidance,
                          {QStringLiteral("3"), QStringLiteral("6"), QStringLiteral("9")}};
    const auto cells = sf::ui::planGrid(base, spec);
    REQUIRE(cells.size() == 6);
    CHECK(cells[1].params.seed == 2);
    CHECK(cells[1].params.cfgScale == 3.0);
    CHECK(cells[5].params.cfgScale == 9.0);
    auto batches = sf::ui::batchGrid(cells, {});  // 512x512: up to 8 images per request
    REQUIRE(batches.size() == 1);
    CHECK(batches[0].params.seeds == QList<qint64>{1, 2, 1, 2, 1, 2});
    CHECK(batches[0].params.cfgScales == QList<double>{3.0, 3.0, 6.0, 6.0, 9.0, 9.0});
    CHECK(batches[0].cells == QList<int>{0, 1, 2, 3, 4, 5});
    batches = sf::ui::batchGrid(cells, {cells[0].key, cells[1].key, cells[2].key});
    REQUIRE(batches.size() == 1);
    CHECK(batches[0].cells == QList<int>{3, 4, 5});
    base.width = base.height = 1024;  // 2 images per request
    batches = sf::ui::batchGrid(sf::ui::planGrid(base, spec), {});
    REQUIRE(batches.size() == 3);
    CHECK(batches[2].params.cfgScales == QList<double>{9.0, 9.0});

    // Steps on X: one request per steps value (its three guidance scales batched).
    base.width = base.height = 512;
    spec.xAxis = GridAxis::Steps;
    spec.xValues = {QStringLiteral("10"), QStringLiteral("20")};
    CHECK(sf::ui::batchGrid(sf::ui::planGrid(base, spec), {}).size() == 2);
    // Prompt S/R replaces the first value.
    spec = {GridAxis::PromptSR, {QStringLiteral("cat"), QStringLiteral("dog")}, GridAxis::Seed, {}};
    const auto sr = sf::ui::planGrid(base, spec);
    REQUIRE(sr.size() == 2);
    CHECK(sr[1].params.prompt == QStringLiteral("a dog"));
}

TEST_CASE("grid: 2 seeds x 3 guidance scales fill six distinct cells and export one PNG", "[ui]") {
    WindowFixture f(5);
    auto& w = *f.window;
    auto p = w.promptPanel()->params();
    p.steps = 4;
    p.width = 256;
    p.height = 256;
    w.promptPanel()->setParams(p);
    sf::ui::GridPanel* grid = w.gridPanel();
    grid->setSpec({GridAxis::Seed, {QStringLiteral("11"), QStringLiteral("22")}, GridAxis::Guidance,
                   {QStringLiteral("3"), QStringLiteral("6"), QStringLiteral("9")}});
    QSignalSpy completed(grid, &sf::ui::GridPanel::gridCompleted);
    QSignalSpy started(w.controller(), &sf::ui::GenerationController::jobStarted);
    CHECK(grid->run(w.currentParams()) == 1);  // seeds x guidance: one batched request
    CHECK(grid->cellCount() == 6);
    REQUIRE(waitFor([&] { return completed.count() == 1; }));
    CHECK(f.state->jobs == 1);
    CHECK(f.state->images == 6);
    QSet<QByteArray> distinct;
    for (int r = 0; r < 3; ++r) {
        for (int c = 0; c < 2; ++c) {
            const QImage cell = grid->cellImage(r, c);
            REQUIRE_FALSE(cell.isNull());
            distinct.insert(QCryptographicHash::hash(QByteArrayView(cell.constBits(), cell.sizeInBytes()),
                                                     QCryptographicHash::Sha1));
        }
    }
    CHECK(distinct.size() == 6);

    const QString path = f.dir.filePath(QStringLiteral("grid.png"));
    REQUIRE(grid->exportPng(path));
    const QImage exported(path);
    CHECK(exported.width() > 2 * 256);
    CHECK(exported.height() > 3 * 256);
    CHECK(exported.width() < 2 * 256 + 400);

    // Clicking a cell restores its parameters.
    grid->activate(1, 0);
    CHECK(w.currentParams().seed == 11);
    CHECK(w.currentParams().cfgScale == 6.0);

    // Adding a seed computes only the new column: its three cells in one request.
    grid->setSpec({GridAxis::Seed, {QStringLiteral("11"), QStringLiteral("22"), QStringLiteral("33")}, GridAxis::Guidance,
                   {QStringLiteral("3"), QStringLiteral("6"), QStringLiteral("9")}});
    auto base = w.currentParams();
    base.cfgScale = 6.0;
    CHECK(grid->run(base) == 1);
    CHECK(grid->filledCount() == 6);
    REQUIRE(waitFor([&] { return completed.count() == 2; }));
    CHECK(f.state->images == 9);
    CHECK(grid->filledCount() == 9);
    // Running it again is all cache.
    CHECK(grid->run(base) == 0);
}
