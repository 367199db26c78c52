// sfumato-cli generate: one request (txt2img or img2img) to PNG files with A1111 metadata.
#include <iostream>

#include "app/cli_args.h"
#include "app/cli_commands.h"
#include "app/cli_common.h"
#include "app/default_model.h"
#include "app/pipeline_runner.h"
#include "core/error.h"
#include "core/parameters.h"
#include "io/image_io.h"
#include "io/png_io.h"

namespace sf::cli {

namespace fs = std::filesystem;

int cmd_generate(const Args& args) { return run_generate(args, make_pipeline_runner()); }

int run_generate(const Args& args, JobRunner runner) {
    if (args.has("help")) {
        std::cout << "usage: sfumato-cli generate [PROMPT] [options]\n\n" << request_options_help();
        return 0;
    }
    args.allow_only(request_options());
    GenerateRequest request = request_from_args(args);
    const OutputTarget target = output_target(args.get("output", "outputs"));
    apply_threads(args);
    prepare_request(request);
    prepare_output(target);

    ModelHash hash(request.model);
    JobSaver saver = [&](size_t, const GenerateRequest& r, const Image& image, int index) {
        const fs::path path = output_path(target, image_seed(r, index), index, r.batch_size);
        io::write_png(path, image, {{"parameters", format_parameters(r, infotext_info(r, hash.get()), index)}});
        return path;
    };
    run_jobs({request}, std::move(runner), saver);
    return 0;
}

}  // namespace sf::cli
