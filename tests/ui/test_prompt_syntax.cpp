// Emphasis editing (A1111 Ctrl+Up/Down), token counter and parameters text.
#include <catch2/catch_test_macros.hpp>

#include "tests/ui/window_fixture.h"
#include <QTemporaryDir>

#include "ui/png_file.h"
#include "ui/prompt_edit.h"
#include "ui/prompt_panel.h"
#include "ui/prompt_syntax.h"
#include "ui/qt_convert.h"

using sf::ui::adjustEmphasis;

TEST_CASE("emphasis: word under the cursor, selections and existing weights", "[ui][unit]") {
    const QString text = QStringLiteral("a red fox");
    auto e = adjustEmphasis(text, 3, 3, 0.1);  // cursor inside "red"
    CHECK(e.text == QStringLiteral("a (red:1.1) fox"));
    CHECK(e.text.mid(e.selectionStart, e.selectionEnd - e.selectionStart) == QStringLiteral("red"));
    e = adjustEmphasis(e.text, e.selectionStart, e.selectionEnd, 0.1);
    CHECK(e.text == QStringLiteral("a (red:1.2) fox"));
    e = adjustEmphasis(e.text, 5, 5, -0.1);  // cursor in the group
    CHECK(e.text == QStringLiteral("a (red:1.1) fox"));
    e = adjustEmphasis(e.text, e.selectionStart, e.selectionEnd, -0.1);
    CHECK(e.text == QStringLiteral("a red fox"));  // back to 1.0: parentheses removed
    e = adjustEmphasis(text, 0, 5, -0.1);  // selection "a red"
    CHECK(e.text == QStringLiteral("(a red:0.9) fox"));
}

TEST_CASE("Ctrl+Up in the prompt box edits the weight", "[ui]") {
    sf::ui::PromptPanel panel;
    panel.show();
    auto* edit = panel.promptEdit();
    edit->setPlainText(QStringLiteral("castle on a hill"));
    QTextCursor cursor = edit->textCursor();
    cursor.setPosition(2);
    edit->setTextCursor(cursor);
    QTest::keyClick(edit, Qt::Key_Up, Qt::ControlModifier);
    QTest::keyClick(edit, Qt::Key_Up, Qt::ControlModifier);
    CHECK(edit->toPlainText() == QStringLiteral("(castle:1.2) on a hill"));
    QTest::keyClick(edit, Qt::Key_Down, Qt::ControlModifier);
    CHECK(edit->toPlainText() == QStringLiteral("(castle:1.1) on a hill"));
}

TEST_CASE("token counter per 75-token chunk", "[ui][unit]") {
    CHECK(sf::ui::countTokens(QStringLiteral("a (red:1.2) fox, [blurry]")) == 5);
    CHECK(sf::ui::tokenCounterText(0) == QStringLiteral("0/75"));
    CHECK(sf::ui::tokenCounterText(75) == QStringLiteral("75/75"));
    CHECK(sf::ui::tokenCounterText(76) == QStringLiteral("76/150"));
}

TEST_CASE("parameters text round trip", "[ui][unit]") {
    sf::ui::GenerationParams p;
    p.prompt = QStringLiteral("line one\nline two");
    p.negativePrompt = QStringLiteral("ugly");
    p.steps = 31;
    p.cfgScale = 6.5;
    p.seed = 123456789012LL;
    p.width = 768;
    p.height = 512;
    p.sampler = QStringLiteral("DPM++ 2M");
    p.schedule = QStringLiteral("Karras");
    const QString text = sf::ui::parametersText(p);
    sf::ui::GenerationParams q;
    REQUIRE(sf::ui::paramsFromText(text, q));
    CHECK(q.prompt == p.prompt);
    CHECK(q.negativePrompt == p.negativePrompt);
    CHECK(q.steps == 31);
    CHECK(q.cfgScale == 6.5);
    CHECK(q.seed == 123456789012LL);
    CHECK(q.width == 768);
    CHECK(q.height == 512);
    CHECK(q.sampler == p.sampler);
    CHECK(q.schedule == p.schedule);
    CHECK_FALSE(sf::ui::paramsFromText(QStringLiteral("just a caption"), q));
    CHECK(q.prompt == p.prompt);  // untouched by a failed read
}

TEST_CASE("parameters text through a PNG keeps newlines and non-Latin-1 text (libpng)", "[ui][unit]") {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("a.png"));
    QImage image(16, 8, QImage::Format_RGB888);
    image.fill(Qt::red);
    const QString text = QStringLiteral("a fox,\n  in snow — 雪\nNegative prompt: blurry\nSteps: 5, Sampler: Euler, "
                                        "CFG scale: 7, Seed: 1, Size: 16x8");
    QString error;
    REQUIRE(sf::ui::writePng(path, image, text, &error));
    CHECK(error.isEmpty());
    CHECK(sf::ui::readPngParameters(path) == text);
    CHECK(QImage(path).convertToFormat(QImage::Format_RGB888) == image);
    CHECK(sf::ui::readPngParameters(dir.filePath(QStringLiteral("missing.png"))).isEmpty());
    CHECK_FALSE(sf::ui::writePng(dir.filePath(QStringLiteral("a.png/b.png")), image, text, &error));  // under a file
    CHECK_FALSE(error.isEmpty());
}
