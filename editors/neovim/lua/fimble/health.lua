-- :checkhealth fimble: is the server installed, which version and model, is it running, and
-- can this Neovim show ghost text. Works from Neovim 0.7 (require("health")) to 0.12
-- (vim.health.start/ok/...).

local M = {}

local function reporter()
  if vim.health and vim.health.start then
    return vim.health
  end
  local legacy = (vim.health and vim.health.report_start) and vim.health or require("health")
  return {
    start = legacy.report_start,
    ok = legacy.report_ok,
    info = legacy.report_info,
    warn = legacy.report_warn,
    error = legacy.report_error,
  }
end

-- The server command without `serve` and what follows: { "fimble" } or { python, "-m", ... }.
local function cli_of(cmd)
  local cli = {}
  for _, part in ipairs(cmd) do
    if part == "serve" then
      break
    end
    table.insert(cli, part)
  end
  return cli
end

-- Runs a command and waits at most timeout_ms: its output lines and exit code (nil: too slow).
local function run(args, cwd, timeout_ms)
  local lines = {}
  local function collect(_, data)
    for _, line in ipairs(data or {}) do
      if line ~= "" then
        table.insert(lines, line)
      end
    end
  end
  local ok, job = pcall(vim.fn.jobstart, args, {
    cwd = cwd,
    stdout_buffered = true,
    stderr_buffered = true,
    on_stdout = collect,
    on_stderr = collect,
  })
  if not ok or job <= 0 then
    return { "could not run " .. table.concat(args, " ") }, -1
  end
  local code = vim.fn.jobwait({ job }, timeout_ms)[1]
  if code == -1 then
    vim.fn.jobstop(job)
    return lines, nil
  end
  return lines, code
end

local function lines_starting(lines, prefixes)
  return vim.tbl_filter(function(line)
    for _, prefix in ipairs(prefixes) do
      if vim.startswith(line, prefix) then
        return true
      end
    end
    return false
  end, lines)
end

local function check_executable(report, config)
  local path = vim.fn.exepath(config.cmd[1])
  if path == "" then
    report.error("executable: `" .. config.cmd[1] .. "` not found", {
      "install fimble: pipx install /path/to/fimble (or uv tool install)",
      "or set cmd in require('fimble').setup({ cmd = { '/full/path/to/fimble', 'serve' } })",
    })
    return false
  end
  report.ok("executable: " .. path .. " (command: " .. table.concat(config.cmd, " ") .. ")")
  return true
end

local function check_version(report, config)
  local cli = cli_of(config.cmd)
  local lines, code = run(vim.list_extend(vim.deepcopy(cli), { "--version" }), config.cmd_cwd, 20000)
  if code == 0 and #lines > 0 then
    report.ok("version: " .. lines[#lines])
  else
    report.error("version: `" .. table.concat(cli, " ") .. " --version` failed: "
      .. table.concat(lines, " "))
  end
end

-- The model from the running server (fimble/stats), which waits for it to load.
local function check_model_running(report, fimble, client)
  local answer
  fimble.request(client, "fimble/stats", vim.empty_dict(), function(err, result)
    answer = { err = err, result = result }
  end)
  if not vim.wait(30000, function() return answer ~= nil end, 50) then
    return report.warn("model: the server did not answer fimble/stats within 30 s (still loading?)")
  end
  if answer.err then
    return report.error("model: fimble/stats failed: " .. tostring(answer.err.message))
  end
  local lines = fimble.describe_stats(answer.result)
  if answer.result.engine == nil then
    return report.error(lines[1])
  end
  report.ok(lines[1] .. " (from the running server)")
  report.ok(lines[2])
end

-- No server running: `fimble doctor` loads the model the server would load.
local function check_model_doctor(report, config)
  local settings = config.settings or {}
  if settings.engine and settings.engine ~= "local" then
    return report.info("model: remote engine " .. settings.engine .. " at "
      .. tostring(settings.remoteUrl) .. " (checked when the server runs)")
  end
  local args = vim.list_extend(vim.deepcopy(cli_of(config.cmd)), { "doctor" })
  if settings.modelPath and settings.modelPath ~= "" then
    vim.list_extend(args, { "--model", settings.modelPath })
  end
  local lines, code = run(args, config.cmd_cwd, 60000)
  local found = lines_starting(lines, { "model:", "model file:", "OK", "PROBLEM", "WARNING" })
  if code == 0 then
    report.ok("model (fimble doctor): " .. table.concat(found, "; "))
  elseif code == nil then
    report.warn("model: `fimble doctor` did not finish in 60 s: " .. table.concat(found, "; "))
  else
    report.error("model (fimble doctor): " .. table.concat(found, "; "),
      { "run `fimble doctor` in a terminal for the whole report" })
  end
end

local function check_server(report, fimble, config)
  local clients = fimble.clients()
  if #clients == 0 then
    if not fimble.enabled then
      report.warn("server: off (:FimbleToggle turns it on)")
    else
      report.info("server: not running (" .. fimble.state .. "); it starts with a buffer of "
        .. table.concat(config.filetypes, ", "))
    end
    check_model_doctor(report, config)
    return
  end
  for _, client in ipairs(clients) do
    report.ok(string.format("server: running, client %d, attached to %d buffer(s)", client.id,
      #vim.lsp.get_buffers_by_client_id(client.id)))
  end
  check_model_running(report, fimble, clients[1])
end

local function check_inline(report, config)
  local version = vim.version()
  local named = string.format("Neovim %d.%d.%d", version.major, version.minor, version.patch)
  if vim.lsp.inline_completion then
    if config.inline then
      report.ok(named .. ": ghost text through vim.lsp.inline_completion (accept: "
        .. tostring(config.accept_key) .. ")")
    else
      report.info(named .. " has vim.lsp.inline_completion, but setup() has inline = false")
    end
  elseif vim.lsp.completion then
    report.warn(named .. ": no inline completion (0.12+); fimble's suggestion is an item in "
      .. "vim.lsp.completion's popup")
  else
    report.warn(named .. ": no inline completion (0.12+); fimble's suggestion is a completion "
      .. "item: <C-x><C-o> in insert mode")
  end
end

function M.check()
  local report = reporter()
  local fimble = require("fimble")
  report.start("fimble")
  local config = fimble.config
  if config == nil then
    report.warn("setup() has not run: checking the default command",
      { "call require('fimble').setup({}) in init.lua or the lazy.nvim spec's config" })
    config = vim.tbl_deep_extend("force", {}, fimble.defaults)
  end
  if check_executable(report, config) then
    check_version(report, config)
    check_server(report, fimble, config)
  end
  check_inline(report, config)
end

return M
