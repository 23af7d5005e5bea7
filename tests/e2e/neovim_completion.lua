-- Run by tests/e2e/test_editor_neovim.py as `nvim --headless --clean -u THIS_FILE`.
-- Loads editors/neovim's `fimble` module, opens a real file, asks for completion through
-- Neovim's own LSP client and writes what it got (as JSON) to $FIMBLE_NVIM_OUT.

local env = vim.env
local out = env.FIMBLE_NVIM_OUT

local function finish(report)
  report.nvim = vim.version()
  local file = io.open(out, "w")
  file:write(vim.fn.json_encode(report))
  file:close()
  vim.cmd("qall!")
end

vim.opt.runtimepath:prepend(env.FIMBLE_NVIM_RUNTIME)
require("fimble").setup({
  cmd = vim.fn.json_decode(env.FIMBLE_NVIM_CMD),
  cmd_cwd = env.FIMBLE_NVIM_CWD,
  filetypes = { "python" },
  settings = { maxTokens = 32 },
})

vim.api.nvim_create_autocmd("VimEnter", {
  nested = true, -- so that :edit fires FileType, which starts the client
  callback = function()
    local ok, problem = pcall(function()
      vim.cmd("edit " .. vim.fn.fnameescape(env.FIMBLE_NVIM_FILE))
      local bufnr = vim.api.nvim_get_current_buf()
      local attached = vim.wait(60000, function()
        return #vim.lsp.buf_get_clients(bufnr) > 0
      end, 50)
      if not attached then
        return finish({ error = "no LSP client attached" })
      end
      local line, col = tonumber(env.FIMBLE_NVIM_LINE), tonumber(env.FIMBLE_NVIM_COL)
      -- The position as in insert mode, after the line's last character (normal mode's
      -- cursor cannot stand there, so make_position_params() would say one column less).
      local params = {
        textDocument = { uri = vim.uri_from_bufnr(bufnr) },
        position = { line = line, character = col },
      }
      local responses, err = vim.lsp.buf_request_sync(bufnr, "textDocument/completion", params, 240000)
      local answers = {}
      for client_id, response in pairs(responses or {}) do
        local client = vim.lsp.get_client_by_id(client_id)
        table.insert(answers, {
          client = client and client.name or "?",
          omnifunc = vim.api.nvim_buf_get_option(bufnr, "omnifunc"),
          result = response.result,
          error = response.err and tostring(response.err.message) or nil,
        })
      end
      finish({ params = params, answers = answers, error = err })
    end)
    if not ok then
      finish({ error = tostring(problem) })
    end
  end,
})
