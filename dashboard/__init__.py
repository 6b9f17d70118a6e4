"""QuotaWatch dashboard: a Plotly Dash app for regulators, analysts and building managers."""
