// The workflow endpoints of the control service's REST API (/api/v1/workflows/...), added to
// its server (http_api.h) over a WorkflowEngine; errors through SendError (wire/http_status.h).
// Thread-safe, as the engine is.
//
//   POST /api/v1/workflows/runs        {"spec": TEXT, "source": NAME, "set": {NAME: VALUE},
//                                       "workingDir": DIR} -> 201 RUN
//   GET  /api/v1/workflows/runs        {"runs": [RUN, ...]}
//   GET  /api/v1/workflows/runs/RUN    RUN: {"name", "state", "reason", "steps": [{"name",
//                                       "type", "state", "reason", "job", "attempts",
//                                       "outputs", gates: "verdict", "figures"}], ...}
//   POST /api/v1/workflows/runs/RUN/rerun  {"from": STEP} -> RUN
//   POST /api/v1/workflows/runs/RUN/bless  {"step": STEP, "reason": TEXT} -> RUN
#pragma once

namespace httplib {
class Server;
}

namespace parasol::control {

class WorkflowEngine;

void AddWorkflowRoutes(httplib::Server& server, WorkflowEngine& engine);

}  // namespace parasol::control
