-- fimble for Neovim: registers the fimble language server for the chosen filetypes.
--
-- Neovim 0.11+: vim.lsp.config / vim.lsp.enable; 0.12+ also shows ghost text through
-- vim.lsp.inline_completion (Tab accepts). Older Neovim (0.7 to 0.10): starts the server
-- on FileType and offers fimble's suggestion as a completion item (omnifunc, <C-x><C-o>).

local M = {}

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
  vim.lsp.config("fimble", {
    cmd = config.cmd,
    cmd_cwd = config.cmd_cwd,
    filetypes = config.filetypes,
    root_markers = config.root_markers,
    init_options = settings_object(config.settings),
    settings = { fimble = settings_object(config.settings) },
    on_attach = on_attach,
  })
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
    if vim.api.nvim_buf_get_option(bufnr, "buftype") ~= "" then
      return
    end
    local start = {
      name = "fimble",
      cmd = config.cmd,
      cmd_cwd = config.cmd_cwd,
      root_dir = root_dir(bufnr, config.root_markers),
      init_options = settings_object(config.settings),
      settings = { fimble = settings_object(config.settings) },
      on_attach = on_attach,
    }
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
  -- Buffers already open when setup() runs.
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr)
      and vim.tbl_contains(config.filetypes, vim.api.nvim_buf_get_option(bufnr, "filetype")) then
      attach({ buf = bufnr })
    end
  end
end

function M.setup(opts)
  local config = merged(opts)
  if vim.lsp.config and vim.lsp.enable then
    setup_modern(config)
  else
    setup_legacy(config)
  end
  M.config = config
end

return M
