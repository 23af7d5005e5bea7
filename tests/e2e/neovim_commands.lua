-- Run by tests/e2e/test_editor_neovim.py as `nvim --headless --clean -u THIS_FILE`.
-- Loads the lazy.nvim spec in $FIMBLE_NVIM_SPEC the way lazy.nvim loads a plugin (its dir on
-- the runtimepath, then config(plugin, opts)), opens a real file, and records as JSON in
-- $FIMBLE_NVIM_OUT: :checkhealth fimble's buffer, :FimbleStatus's messages, and completion
-- answers before :FimbleToggle, after it (off) and after it again (on).

local env = vim.env
local report = {}

local function finish()
  report.nvim = vim.version()
  local file = io.open(env.FIMBLE_NVIM_OUT, "w")
  file:write(vim.fn.json_encode(report))
  file:close()
  vim.cmd("qall!")
end

-- What lazy.nvim does for a spec that is not lazy-loaded.
local spec = dofile(env.FIMBLE_NVIM_SPEC)
local plugin = vim.tbl_extend("force", { name = "fimble" }, spec)
vim.opt.runtimepath:prepend(plugin.dir)
plugin.config(plugin, spec.opts or {})

local function clients()
  return require("fimble").clients()
end

local function attached_to(bufnr)
  if vim.lsp.get_clients then
    return #vim.lsp.get_clients({ bufnr = bufnr }) > 0
  end
  return next(vim.lsp.buf_get_clients(bufnr)) ~= nil
end

-- The texts of the completion items the buffer's clients answer (none: no client to ask;
-- 0.12's buf_request_sync would wait out its timeout).
local function complete(bufnr)
  if not attached_to(bufnr) then
    return {}
  end
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = { line = tonumber(env.FIMBLE_NVIM_LINE), character = tonumber(env.FIMBLE_NVIM_COL) },
  }
  local responses = vim.lsp.buf_request_sync(bufnr, "textDocument/completion", params, 240000)
  local texts = {}
  for _, response in pairs(responses or {}) do
    for _, item in ipairs((response.result or {}).items or {}) do
      table.insert(texts, item.textEdit and item.textEdit.newText or item.insertText)
    end
  end
  return texts
end

local function wait_attached(bufnr, attached)
  return vim.wait(60000, function()
    return attached_to(bufnr) == attached and (attached or #clients() == 0)
  end, 50)
end

-- Seconds since the start at each step, to see where a slow run spends its time.
report.seconds = {}
local started = vim.loop.hrtime()
local function mark(step)
  table.insert(report.seconds, { step, (vim.loop.hrtime() - started) / 1e9 })
end

local function steps()
  vim.cmd("edit " .. vim.fn.fnameescape(env.FIMBLE_NVIM_FILE))
  local bufnr = vim.api.nvim_get_current_buf()
  report.attached = wait_attached(bufnr, true)
  report.completion_on = complete(bufnr)
  mark("completion_on")

  vim.cmd("checkhealth fimble")
  report.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  vim.cmd("tabclose")
  mark("health")

  vim.cmd("messages clear")
  vim.cmd("FimbleStatus")
  vim.wait(60000, function()
    return vim.fn.execute("messages"):find("model:") ~= nil
  end, 50)
  report.status = vim.fn.execute("messages")
  mark("status")

  vim.cmd("FimbleToggle")
  report.detached = wait_attached(bufnr, false)
  report.completion_off = complete(bufnr)
  mark("completion_off")
  vim.cmd("FimbleToggle")
  report.reattached = wait_attached(bufnr, true)
  report.completion_back_on = complete(bufnr)
  mark("completion_back_on")
  report.messages = vim.fn.execute("messages")
end

vim.api.nvim_create_autocmd("VimEnter", {
  nested = true, -- so that :edit fires FileType, which starts the client
  callback = function()
    local ok, problem = pcall(steps)
    if not ok then
      report.error = tostring(problem)
    end
    finish()
  end,
})
