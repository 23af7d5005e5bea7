-- fimble for Neovim: registers the fimble language server for the chosen filetypes.
--
-- Neovim 0.11+: vim.lsp.config / vim.lsp.enable; 0.12+ also shows ghost text through
-- vim.lsp.inline_completion (Tab accepts). Older Neovim (0.7 to 0.10): starts the server
-- on FileType and offers fimble's suggestion as a completion item (omnifunc, <C-x><C-o>).
-- :FimbleToggle stops and restarts the server, :FimbleStatus asks it what it runs, and
-- :checkhealth fimble (lua/fimble/health.lua) checks the install.

local M = {}

-- Whether suggestions are on (:FimbleToggle), and what the client was last seen doing.
M.enabled = true
M.state = "not started"

M.defaults = {
  -- The command that runs the server; `fimble editors neovim` prints it with the full path.
  cmd = { "fimble", "serve" },
  -- Working directory of the server process (nil: Neovim's current directory).
  cmd_cwd = nil,
  filetypes = { "python", "javascript", "typescript", "rust", "go", "c", "cpp", "java", "lua" },
  -- fimble's settings (camelCase, as in the README table), e.g. { maxTokens = 64 }.
  settings = {},
  root_markers = { ".git", "pyproject.toml", "package.json", "Cargo.toml", "go.mod" },
  -- Show ghost text where Neovim has vim.lsp.inline_completion (0.12+).
  inline = true,
  -- Insert-mode key that accepts the ghost text (falls back to the key itself); false: none.
  accept_key = "<Tab>",
}

local function merged(opts)
  local config = vim.tbl_deep_extend("force", {}, M.defaults, opts or {})
  -- Lists replace, they do not merge element by element.
  for _, key in ipairs({ "cmd", "filetypes", "root_markers" }) do
    if opts and opts[key] then
      config[key] = opts[key]
    end
  end
  return config
end

-- An empty Lua table goes on the wire as a JSON array; fimble expects an object.
local function settings_object(settings)
  if next(settings) == nil then
    return vim.empty_dict()
  end
  return settings
end

local function on_attach(client, bufnr)
  -- Completion-popup route: <C-x><C-o> asks fimble (and any other server) for items.
  vim.api.nvim_buf_set_option(bufnr, "omnifunc", "v:lua.vim.lsp.omnifunc")
end

-- Client callbacks that record its state for :FimbleStatus and :checkhealth.
local lifecycle = {
  before_init = function()
    M.state = "starting"
  end,
  on_init = function()
    M.state = "running"
  end,
  on_exit = function(code, signal)
    M.state = M.enabled and string.format("exited (code %d, signal %d)", code, signal) or "off"
  end,
}

local function client_config(config, extra)
  return vim.tbl_extend("force", {
    cmd = config.cmd,
    cmd_cwd = config.cmd_cwd,
    init_options = settings_object(config.settings),
    settings = { fimble = settings_object(config.settings) },
    on_attach = on_attach,
  }, lifecycle, extra)
end

-- The running fimble clients (0.7 to 0.9 have get_active_clients, 0.10+ get_clients).
function M.clients()
  local all = vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients()
  return vim.tbl_filter(function(client)
    return client.name == "fimble"
  end, all)
end

-- A request to one client; 0.11+ made the client's functions methods.
function M.request(client, method, params, handler)
  if vim.fn.has("nvim-0.11") == 1 then
    return client:request(method, params, handler)
  end
  return client.request(method, params, handler)
end

local function setup_inline(config)
  if not (config.inline and vim.lsp.inline_completion) then
    return false
  end
  vim.lsp.inline_completion.enable(true)
  if config.accept_key then
    vim.keymap.set("i", config.accept_key, function()
      if not vim.lsp.inline_completion.get() then
        return config.accept_key
      end
    end, { expr = true, replace_keycodes = true, desc = "fimble: accept the ghost text" })
  end
  return true
end

-- Neovim 0.11+: the built-in configuration registry.
local function setup_modern(config)
  vim.lsp.config("fimble", client_config(config, {
    filetypes = config.filetypes,
    root_markers = config.root_markers,
  }))
  vim.lsp.enable("fimble")
  if not setup_inline(config) and vim.lsp.completion then
    -- 0.11: no ghost text yet; fimble's items appear in the built-in completion popup.
    vim.api.nvim_create_autocmd("LspAttach", {
      group = vim.api.nvim_create_augroup("fimble_completion", { clear = true }),
      callback = function(args)
        local client = vim.lsp.get_client_by_id(args.data.client_id)
        if client and client.name == "fimble" then
          vim.lsp.completion.enable(true, client.id, args.buf, { autotrigger = false })
        end
      end,
    })
  end
end

local function root_dir(bufnr, markers)
  local path = vim.api.nvim_buf_get_name(bufnr)
  local dir = vim.fn.fnamemodify(path, ":p:h")
  for _, marker in ipairs(markers) do
    local found = vim.fn.finddir(marker, dir .. ";")
    if found == "" then
      found = vim.fn.findfile(marker, dir .. ";")
    end
    if found ~= "" then
      return vim.fn.fnamemodify(found, ":p:h:h")
    end
  end
  return dir
end

-- Neovim 0.7 to 0.10: one client, attached to each buffer of the chosen filetypes.
local function setup_legacy(config)
  local client_id = nil
  local function attach(args)
    local bufnr = args.buf
    if not M.enabled or vim.api.nvim_buf_get_option(bufnr, "buftype") ~= "" then
      return
    end
    local start = client_config(config, {
      name = "fimble",
      root_dir = root_dir(bufnr, config.root_markers),
    })
    if vim.lsp.start then -- 0.8+: reuses a running client with the same name and root
      vim.lsp.start(start, { bufnr = bufnr })
      return
    end
    if client_id == nil or vim.lsp.client_is_stopped(client_id) then
      client_id = vim.lsp.start_client(start)
    end
    if client_id then
      vim.lsp.buf_attach_client(bufnr, client_id)
    end
  end
  local group = vim.api.nvim_create_augroup("fimble", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = config.filetypes,
    callback = attach,
  })
  -- Buffers already open when setup() runs, or when :FimbleToggle turns fimble back on.
  local function attach_open_buffers()
    for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(bufnr)
        and vim.tbl_contains(config.filetypes, vim.api.nvim_buf_get_option(bufnr, "filetype")) then
        attach({ buf = bufnr })
      end
    end
  end
  attach_open_buffers()
  return attach_open_buffers
end

local function say(lines, level)
  local chunks = {}
  for index, line in ipairs(lines) do
    local text = (index > 1 and "\n" or "") .. line
    table.insert(chunks, { text, level == "warn" and "WarningMsg" or nil })
  end
  vim.api.nvim_echo(chunks, true, {})
end

-- Off: the server stops (its memory is freed). On: it starts again for the open buffers of
-- the configured filetypes, and loads the model again.
function M.toggle()
  M.enabled = not M.enabled
  if vim.lsp.config and vim.lsp.enable then
    vim.lsp.enable("fimble", M.enabled)
  elseif M.enabled then
    M.attach_open_buffers()
  end
  if not M.enabled then
    for _, client in ipairs(M.clients()) do
      vim.lsp.stop_client(client.id)
    end
    M.state = "off"
  end
  say({ M.enabled and "fimble: suggestions on (the server starts for the open buffers of "
    .. table.concat(M.config.filetypes, ", ") .. ")" or "fimble: suggestions off (server stopped)" })
end

-- The lines :FimbleStatus prints about what `fimble/stats` answered.
function M.describe_stats(stats)
  local engine = stats.engine
  if engine == nil then
    return { "model: did not load (see :LspLog)" }
  end
  local where = engine.remote and ("remote: code sent to " .. tostring(engine.host))
    or "the model runs in the server"
  local totals = {}
  for source, count in pairs(stats.totals or {}) do
    table.insert(totals, source .. " " .. tostring(count))
  end
  table.sort(totals)
  return {
    "model: " .. tostring(engine.model) .. " (FIM format " .. tostring(engine.fim_template) .. ")",
    "engine: " .. tostring(engine.kind) .. " (" .. where .. ")",
    "work so far: " .. (#totals > 0 and table.concat(totals, ", ") or "none"),
  }
end

function M.status()
  local clients = M.clients()
  if #clients == 0 then
    local why = M.enabled and ("not running (" .. M.state .. "); it starts with a buffer of "
      .. table.concat(M.config.filetypes, ", ")) or "off (:FimbleToggle turns it on)"
    return say({ "fimble: " .. why }, "warn")
  end
  local client = clients[1]
  local buffers = #vim.lsp.get_buffers_by_client_id(client.id)
  local head = string.format("fimble: %s, client %d, %d buffer(s), command %s", M.state,
    client.id, buffers, table.concat(client.config.cmd, " "))
  -- One short line, kept out of the history: a longer one would wait for Enter and hold
  -- back the answer.
  vim.api.nvim_echo({ { "fimble: asking the server (it answers once the model has loaded)" } },
    false, {})
  M.request(client, "fimble/stats", vim.empty_dict(), function(err, result)
    local lines = err and { "stats: " .. tostring(err.message) } or M.describe_stats(result)
    table.insert(lines, 1, head)
    say(lines)
  end)
end

function M.setup(opts)
  local config = merged(opts)
  M.config = config
  if vim.lsp.config and vim.lsp.enable then
    setup_modern(config)
  else
    M.attach_open_buffers = setup_legacy(config)
  end
  vim.api.nvim_create_user_command("FimbleToggle", M.toggle,
    { desc = "fimble: turn suggestions off (stops the server) or on" })
  vim.api.nvim_create_user_command("FimbleStatus", M.status,
    { desc = "fimble: the client's state, the model and the engine" })
end

return M
